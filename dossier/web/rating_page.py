"""``GET|POST /danh-gia/{code}``: the applicant rates the service of a returned dossier
(đánh giá mức độ hài lòng), once.

Whoever gives the dossier's code and the applicant's ID number may rate, the proof the
lookup asks for, under the same limits (a wrong number answers exactly as an unknown code).
The rating is then recorded as the dossier's owner when it has one (submitted online), else
as the agency's rating kiosk (:data:`KIOSK_ID`, a clerk recording the applicant's answer,
which :meth:`~dossier.engine.Engine.rate` allows for counter dossiers). The form is posted
with a CSRF token (:class:`~dossier.web.security.Csrf`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.actors import Actor
from dossier.errors import DossierNotFound, InvalidInput, TransitionNotAllowed
from dossier.policy import check_id_number
from dossier.ratings import MAX_COMMENT, RATING_CRITERIA, RATING_LEVELS
from dossier.states import Role, State
from dossier.web.context import call, context
from dossier.web.pages import MAX_CODE, render, throttle
from dossier.web.problems import BadRequest, NotFound
from dossier.web.security import CSRF_FIELD, read_body

#: the actor id ratings of counter dossiers are recorded under (a clerk role at the agency)
KIOSK_ID = "web-danh-gia"
_LEVEL_KEYS = {level.key for level in RATING_LEVELS}
_CRITERIA_KEYS = [criterion.key for criterion in RATING_CRITERIA]


def _code(request: Request) -> str:
    code = str(request.path_params["code"])
    if not code or len(code) > MAX_CODE:
        raise NotFound("no such dossier")
    return code


def _form(request: Request, code: str, *, status: int = 200, **values: Any) -> Response:
    ctx = context(request)
    nonce, token = ctx.csrf.issue(request)
    page = {"code": code, "levels": RATING_LEVELS, "criteria": RATING_CRITERIA,
            "max_comment": MAX_COMMENT, "csrf_field": CSRF_FIELD, "csrf_token": token,
            "chosen": {}, "comment": "", "error": None, "done": False, **values}
    response = render(request, "danh-gia.html.j2", page, status=status)
    ctx.csrf.set_cookie(response, request, nonce)
    return response


async def show(request: Request) -> Response:
    return _form(request, _code(request))


async def submit(request: Request) -> Response:
    ctx = context(request)
    code = _code(request)
    body = await read_body(request, ctx.settings.max_form_bytes)
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                max_num_fields=64))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the form could not be read") from None
    ctx.csrf.check(request, fields.get(CSRF_FIELD, ""))
    level = fields.get("level", "")
    chosen = {key: fields[f"tieu-chi-{key}"] for key in _CRITERIA_KEYS
              if fields.get(f"tieu-chi-{key}") in _LEVEL_KEYS}
    comment = fields.get("comment", "").strip()
    again = {"chosen": {"level": level, **chosen}, "comment": comment[:MAX_COMMENT]}
    try:
        number = check_id_number("id_number", fields.get("id_number", "").strip())
    except InvalidInput:
        return _form(request, code, status=422, error="Số định danh cá nhân gồm 12 chữ số "
                     "(căn cước công dân) hoặc 9 chữ số (chứng minh nhân dân).", **again)
    if level not in _LEVEL_KEYS:
        return _form(request, code, status=422, error="Vui lòng chọn mức độ hài lòng.",
                     **again)
    if len(comment) > MAX_COMMENT:
        return _form(request, code, status=422,
                     error=f"Ý kiến góp ý dài tối đa {MAX_COMMENT} ký tự.", **again)
    throttle(request, code)
    try:
        status = await call(ctx.engine.lookup, code, id_number=number)
    except DossierNotFound:
        return _form(request, code, status=404, error="Không có hồ sơ nào khớp với mã hồ sơ "
                     "và số định danh đã nhập.", **again)
    if status.state is not State.RETURNED:
        return _form(request, code, status=409, error="Hồ sơ chưa được trả kết quả nên chưa "
                     "thể đánh giá.", **again)
    dossier = await call(ctx.engine.get, code)
    actor = Actor(id=dossier.owner, role=Role.CITIZEN) if dossier.owner else \
        Actor(id=KIOSK_ID, role=Role.CLERK, agency=dossier.agency)
    try:
        await call(ctx.engine.rate, code, actor=actor, level=level, criteria=chosen,
                   comment=comment or None)
    except TransitionNotAllowed:
        return _form(request, code, status=409, error="Hồ sơ này đã được đánh giá; mỗi hồ "
                     "sơ chỉ được đánh giá một lần.", **again)
    return render(request, "danh-gia.html.j2", {"code": code, "done": True})


ROUTES = [
    Route("/danh-gia/{code}", show, methods=["GET"]),
    Route("/danh-gia/{code}", submit, methods=["POST"]),
]
