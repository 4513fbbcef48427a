"""How each indicator behaves in the demo (示例数据): magnitudes, growth, noise, start levels.

Magnitudes are for a county-sized unit (size 1.0); a town or street is about a tenth of that.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """How one indicator behaves in a county-sized unit."""
    den: float = 0.0          # denominator: per month for flow, level for stock
    scaled: bool = True       # False: a fixed list (e.g. 事项总数), the same for every unit
    growth: float = 0.0       # yearly growth of the denominator
    climb: float = 10.0       # gain per year before the first target (in the indicator's unit)
    drift: float = 1.0        # gain per year after the last target
    noise: float = 0.5        # sd of the period noise of flow values (pp, days)
    seasonal: bool = False
    start_share: float = 0.5  # city-total counts: level in 2022-01 as a share of the first target
    max_per_unit: int | None = None


PROFILES: dict[str, Profile] = {
    "evoucher_activation_rate": Profile(den=420_000, growth=0.006, climb=18, drift=4, noise=0.1),
    "evoucher_settlement_rate": Profile(den=60_000, growth=0.04, climb=8, drift=1.5, noise=1.0,
                                        seasonal=True),
    "online_completion_rate": Profile(den=1_100, growth=0.08, climb=4, drift=1, noise=0.8),
    "inpatient_cross_province_rate": Profile(den=130, growth=0.06, climb=4, drift=0.5, noise=1.5),
    "online_availability_rate": Profile(den=42, scaled=False, climb=0, drift=0),
    "remote_care_facility_rate": Profile(den=110, growth=0.02, climb=30, drift=1),
    "maternity_in_province_rate": Profile(den=200, growth=-0.03, climb=4, drift=1, noise=1.5),
    "full_online_items_rate": Profile(den=52, scaled=False, climb=25, drift=3),
    "better_than_province_items_rate": Profile(den=52, scaled=False, climb=15, drift=3),
    "town_window_rate": Profile(den=13, climb=30, drift=0),
    "village_coordinator_rate": Profile(den=110, climb=30, drift=0),
    "standard_window_rate": Profile(den=40, climb=40, drift=0),
    "scan_device_window_rate": Profile(den=450, growth=0.02, climb=25, drift=4),
    "kiosk_scan_rate": Profile(den=150, growth=0.03, climb=30, drift=0),
    "service_point_rate": Profile(den=260, climb=25, drift=0),
    "village_clinic_settlement_rate": Profile(den=220, climb=20, drift=0),
    "staff_rate": Profile(den=260, climb=20, drift=0),
    "delegated_items_rate": Profile(den=61, scaled=False, climb=40, drift=0),
    "pre_job_training_rate": Profile(den=2.5, climb=10, drift=0, noise=3),
    "on_time_completion_rate": Profile(den=6_000, growth=0.05, climb=1, drift=0, noise=0.4,
                                       seasonal=True),
    "transfer_days": Profile(den=45, growth=0.05, climb=2, drift=0.5, noise=0.8),
    "chronic_cross_province_facilities": Profile(start_share=0.3, drift=1),
    "mobile_payment_hospitals": Profile(start_share=0.6, drift=0),
    "internet_medical_institutions": Profile(start_share=0.0, drift=0),
    "cross_city_offline_items": Profile(start_share=0.5, drift=1),
    "town_demo_sites": Profile(start_share=0.0, drift=0.5, max_per_unit=1),
    "village_demo_sites": Profile(start_share=0.2, drift=3),
    "hospital_service_stations": Profile(start_share=0.9, drift=0.5),
    "demo_windows": Profile(start_share=0.0, drift=0),
    "grassroots_demo_sites": Profile(start_share=0.0, drift=0),
    "hospital_demo_sites": Profile(start_share=0.0, drift=0),
    "smart_demo_sites": Profile(start_share=0.0, drift=0),
    "service_channels": Profile(),
    "training_sessions": Profile(),
}
DEFAULT_PROFILE = Profile(den=100, climb=10, drift=1, noise=1.0)
