"""Server-rendered HTML of the security layer: login page, messages, the account bar."""
from __future__ import annotations

from html import escape

NO_USERS_BANNER = "尚未创建账户，当前为只读浏览；请运行 python -m pipelines users add 创建管理员"

_STYLE = """
body{margin:0;font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;
background:#f3f5f8;color:#1d2733}
.box{max-width:420px;margin:12vh auto;background:#fff;border-radius:8px;padding:32px 36px;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:24px;margin:0 0 6px}p.sub{color:#5b6776;margin:0 0 22px}
label{display:block;margin:14px 0 6px;font-size:16px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;font-size:18px;padding:9px 10px;
border:1px solid #b8c2cc;border-radius:4px}
button{margin-top:22px;width:100%;font-size:18px;padding:10px;border:0;border-radius:4px;
background:#1f5fa8;color:#fff;cursor:pointer}
.err{background:#fdecea;color:#a8231a;padding:10px 12px;border-radius:4px;margin:10px 0}
.note{background:#fff4d6;color:#6b4e00;padding:10px 12px;border-radius:4px;margin:10px 0}
a{color:#1f5fa8}
"""


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)} · 医保便民服务指标监测</title><style>{_STYLE}</style></head>'
            f'<body><div class="box">{body}</div></body></html>')


def login_page(csrf: str, next_url: str, error: str | None, has_users: bool) -> str:
    notes = ""
    if not has_users:
        notes = f'<div class="note">{escape(NO_USERS_BANNER)}</div>'
    if error:
        notes += f'<div class="err" id="login-error" role="alert">{escape(error)}</div>'
    return _page("登录", f"""
<h1>医保便民服务指标监测</h1><p class="sub">请使用分配给您的账户登录</p>{notes}
<form method="post" action="/login" id="login-form">
<input type="hidden" name="csrf_token" value="{escape(csrf)}">
<input type="hidden" name="next" value="{escape(next_url)}">
<label for="username">用户名</label>
<input type="text" id="username" name="username" autocomplete="username" required autofocus>
<label for="password">密码</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="login-submit">登录</button>
</form>""")


def password_page(csrf: str, next_url: str, user, error: str | None) -> str:
    notes = ""
    if user.must_change:
        notes = ('<div class="note" id="password-forced">您正在使用初始密码或管理员重置的密码，'
                 '请先设置自己的新密码后再继续使用。</div>')
    if error:
        notes += f'<div class="err" id="password-error" role="alert">{escape(error)}</div>'
    return _page("修改密码", f"""
<h1>修改密码</h1><p class="sub">账户：{escape(user.name)}（{escape(user.role_label)}）。修改后，此账户在其他电脑或浏览器上的登录将全部失效。</p>{notes}
<form method="post" action="/password" id="password-form">
<input type="hidden" name="csrf_token" value="{escape(csrf)}">
<input type="hidden" name="next" value="{escape(next_url)}">
<label for="old_password">当前密码</label>
<input type="password" id="old_password" name="old_password" autocomplete="current-password" required autofocus>
<label for="new_password">新密码（至少 8 个字符）</label>
<input type="password" id="new_password" name="new_password" autocomplete="new-password" required>
<label for="new_again">再次输入新密码</label>
<input type="password" id="new_again" name="new_again" autocomplete="new-password" required>
<button type="submit" id="password-submit">修改密码</button>
</form>{'' if user.must_change else '<p><a href="/">返回首页</a></p>'}""")


def message_page(title: str, message: str, logout_csrf: str | None = None) -> str:
    body = f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
    if logout_csrf:
        body += (f'<form method="post" action="/logout"><input type="hidden" name="csrf_token" '
                 f'value="{escape(logout_csrf)}"><button type="submit" id="logout-confirm">确认退出'
                 f'</button></form><p><a href="/">返回首页</a></p>')
    else:
        body += '<p><a href="/">返回首页</a> · <a href="/login">登录</a></p>'
    return _page(title, body)


_BAR_STYLE = ("<style>#ybjc-account{display:flex;gap:14px;align-items:center;justify-content:flex-end;"
              "padding:4px 16px;font-size:14px;background:#eef2f7;color:#1d2733;"
              "font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif}"
              "#ybjc-account a{color:#1f5fa8;text-decoration:none}"
              "#ybjc-account form{margin:0}#ybjc-account button{font-size:14px;background:none;border:0;"
              "color:#1f5fa8;cursor:pointer;padding:0}"
              "#ybjc-no-users{padding:10px 16px;background:#fff4d6;color:#6b4e00;font-size:18px;"
              "text-align:center;font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif}</style>")


def account_bar(user, has_users: bool, csrf: str, scope_name: str | None = None,
                review: dict | None = None) -> str:
    """The strip above every dashboard page: who is logged in, links by role, logout; with
    `review` (Gate.review_facts) the 审核 link for reviewers and the notice of returned files."""
    if not has_users:
        return f'{_BAR_STYLE}<div id="ybjc-no-users" role="status">{escape(NO_USERS_BANNER)}</div>'
    if user is None:
        return ""
    from .security import may_open
    links = []
    if may_open("/upload", user):
        links.append('<a href="/upload" id="ybjc-link-upload">数据报送</a>')
    review = review or {}
    if review.get("may_review") and may_open("/review", user):
        n = review.get("pending", 0)
        links.append(f'<a href="/review" id="ybjc-link-review">数据审核{f"（待审 {n}）" if n else ""}</a>')
    if may_open("/admin", user):
        links.append('<a href="/admin" id="ybjc-link-admin">系统管理</a>')
    links.append('<a href="/password" id="ybjc-link-password">修改密码</a>')
    scope = f" · {escape(scope_name or user.region_code)}" if user.region_code else ""
    return (f'{_BAR_STYLE}<div id="ybjc-account"><span id="ybjc-user">{escape(user.name)}'
            f'（{escape(user.role_label)}{scope}）</span>{"".join(links)}'
            f'<form method="post" action="/logout"><input type="hidden" name="csrf_token" '
            f'value="{escape(csrf)}"><button type="submit" id="ybjc-logout">退出</button></form></div>'
            + returned_notice(review.get("returned") or []))


def returned_notice(returned: list) -> str:
    """'您有 N 份报送被退回' with each file and the reviewer's comment, linking to the 报送 page."""
    if not returned:
        return ""
    items = "".join(f"<li>报送 #{sid}（{escape(name)}）：{escape(comment or '')}</li>"
                    for sid, name, comment in returned[:5])
    more = f"<li>另有 {len(returned) - 5} 份</li>" if len(returned) > 5 else ""
    return (f'<div id="ybjc-returned" role="alert" style="padding:8px 16px;background:#fdecea;color:#8a1c12;'
            f'font-size:16px;font-family:\'Noto Sans CJK SC\',\'Microsoft YaHei\',sans-serif">'
            f'<strong>您有 {len(returned)} 份报送被审核退回，请按意见修改后重新上传：</strong>'
            f'<ul style="margin:4px 0 4px 20px;padding:0">{items}{more}</ul>'
            f'<a href="/upload" style="color:#1f5fa8">去数据报送页面重新上传</a></div>')
