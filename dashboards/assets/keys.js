/* Keyboard: Esc closes the provenance panel (the panel's own close button is clicked, so its
   Dash callback runs as for a mouse click); when the panel opens, focus moves to that button. */
(function () {
  function modal() { return document.getElementById('prov-modal'); }
  function isOpen(m) { return m && !m.classList.contains('hidden'); }
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') return;
    var m = modal();
    if (isOpen(m)) {
      var close = document.getElementById('prov-close');
      if (close) { close.click(); e.preventDefault(); }
    }
  });
  var watching = null;
  new MutationObserver(function () {
    var m = modal();
    if (!m || m === watching) return;
    watching = m;
    new MutationObserver(function () {
      if (isOpen(m)) {
        var close = document.getElementById('prov-close');
        if (close && !m.contains(document.activeElement)) close.focus();
      }
    }).observe(m, {attributes: true, attributeFilter: ['class']});
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
