"""What the 报送 page says of review (审核): the uploader's returned submissions with the
reviewer's comment, and, after an upload, the return it corrects and that it now waits for
review. Kept apart from dashboards/pages/upload.py, which calls these two functions."""
from __future__ import annotations

import flask
from dash import html

from pipelines.workflow import review


def _store():
    return flask.current_app.extensions["ybjc_store"]


def returned_panel(user) -> html.Section | None:
    """The uploader's returned submissions not yet answered by a corrected upload (newest
    first), each with the reviewer, the time and the comment; None when there are none."""
    if user is None:
        return None
    returned = _store().read(lambda con: [review.describe(con, s, with_values=False)
                                         for s in review.returned_to(con, user.name)])
    if not returned:
        return None
    items = [html.Li([
        html.Strong(f"报送 #{r['submission_id']}（{r['file_name']}）"),
        f"，{'、'.join(r['region_names'])} {'、'.join(r['period_labels'])}，"
        f"{r['reviewer']} 于 {(r['decided_at'] or '').replace('T', ' ')[:16]} 退回。",
        html.Div(f"退回意见：{r['comment']}", className="review-comment-text")],
        id=f"upload-returned-{r['submission_id']}") for r in returned]
    return html.Section(className="upload-step upload-returned", id="upload-returned", role="alert", children=[
        html.H2(f"被退回的报送（{len(returned)} 份）"),
        html.P("请按审核意见修改后重新上传同一地区、同一统计期的报表；新文件会自动关联到被退回的报送，"
               "并重新进入待审核。", className="note"),
        html.Ul(items)])


def upload_review_note(submission_id) -> html.P | None:
    """After a loaded upload: 更正了被退回的报送 #N (when linked), and that it waits for review."""
    if not submission_id:
        return None
    sub = _store().read(lambda con: review.get(con, submission_id))
    if sub is None or sub.state is None:
        return None
    text = f"报送 #{sub.submission_id} {sub.state_label}"
    if sub.state == "pending":
        text += "：上级单位审核通过前，看板中含这些数据的数字标有“待审”。"
    if sub.corrects_id:
        text = f"更正了被退回的报送 #{sub.corrects_id}。" + text
    return html.P(text, className="note upload-review-note", id="upload-review-note")
