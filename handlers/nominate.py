"""`/nominate` (`/denghi`): who → title or award form → basis (→ initiative) → confirm."""

from __future__ import annotations

from collections import Counter

from sqlmodel import select

from bot.core import citations, eligibility, nominations, registration
from bot.core import models as m
from bot.core.i18n import _, language, render
from bot.core.people import reachable_identity
from bot.core.roles import OFFICE_ROLES, Role
from bot.core.text import name_key
from handlers.context import Ctx
from handlers.engine import Answers, Choices, Flow, Invalid, Step
from handlers.picks import numbered, parse_numbers
from handlers.types import Reply
from schedules.outbox import queue_message

OTHER = "other"
NAME_MAX = 120


def _audiences(ctx: Ctx, answers: Answers) -> Choices:
    return [("individual", _("An individual")), ("collective", _("A collective"))]


def _units(ctx: Ctx, answers: Answers) -> Choices:
    rows = ctx.session.exec(select(m.Unit).where(m.Unit.active).order_by(m.Unit.name))
    return [(str(u.id), u.name) for u in rows]


def _unit_id(ctx: Ctx, answers: Answers) -> int:
    assert ctx.person is not None  # flows run for registered people only
    return int(str(answers["unit"])) if answers.get("unit") else ctx.person.unit_id


def _nominees(ctx: Ctx, answers: Answers) -> Choices:
    unit_id = _unit_id(ctx, answers)
    if answers["audience"] == "collective":
        unit = ctx.session.get(m.Unit, unit_id)
        assert unit is not None  # units are never deleted
        return [(f"u{unit.id}", unit.name), (OTHER, _("Another collective (type its name)"))]
    people = ctx.session.exec(
        select(m.Person)
        .where(m.Person.unit_id == unit_id, m.Person.active)
        .order_by(m.Person.full_name)
    )
    listed = list(people)
    names = Counter(name_key(p.full_name) for p in listed)

    def label(p: m.Person) -> str:  # namesakes in one unit: tell them apart
        if names[name_key(p.full_name)] == 1:
            return p.full_name
        return f"{p.full_name} ({p.position or p.staff_no or f'#{p.id}'})"

    return [(f"p{p.id}", label(p)) for p in listed] + [(OTHER, _("Someone else (type the name)"))]


def _titles(ctx: Ctx, answers: Answers) -> Choices:
    audience = str(answers["audience"])
    return [(t.code, t.name) for t in ctx.campaign.titles if audience in t.for_]


def nominee(ctx: Ctx, answers: Answers) -> tuple[str, int | None, int | None]:
    """(name, person id, unit id) of the nominee the answers describe."""
    picked = str(answers["nominee"])
    if picked == OTHER:
        return str(answers["nominee_name"]), None, None
    if picked.startswith("p"):
        person = ctx.session.get(m.Person, int(picked[1:]))
        assert person is not None  # one of the choices offered; people are never deleted
        return person.full_name, person.id, None
    unit = ctx.session.get(m.Unit, int(picked[1:]))
    assert unit is not None  # one of the choices offered; units are never deleted
    return unit.name, None, unit.id


def _key(ctx: Ctx, answers: Answers) -> str:
    name, person_id, unit_id = nominee(ctx, answers)
    return nominations.nominee_key(
        audience=str(answers["audience"]), person_id=person_id, unit_id=unit_id, name=name
    )


def _check_duplicate(ctx: Ctx, answers: Answers, title_code: str) -> None:
    assert ctx.campaign_row.id is not None  # a stored row
    existing = nominations.find_duplicate(
        session=ctx.session,
        campaign_id=ctx.campaign_row.id,
        key=_key(ctx, answers),
        title_code=title_code,
    )
    if existing is not None:
        raise Invalid(
            _(
                "{name} is already nominated for {title}: {receipt}. Choose another "
                "title, or /cancel."
            ).format(
                name=existing.nominee_name,
                receipt=existing.receipt,
                title=ctx.campaign.titles_by_code[title_code].name,
            )
        )
    if _unregistered(ctx, answers, title_code) and _refuses(ctx):
        raise Invalid(
            _(
                "{name} did not register for {title} (đăng ký thi đua), and this campaign "
                "takes nominations only for registered titles. Choose another title, or /cancel."
            ).format(
                name=nominee(ctx, answers)[0],
                title=ctx.campaign.titles_by_code[title_code].name,
            )
        )


def _refuses(ctx: Ctx) -> bool:
    window = ctx.campaign.registration
    return window is not None and window.required == "refuse"


def _unregistered(ctx: Ctx, answers: Answers, title_code: str) -> bool:
    """The title is one people register for, and the nominee did not."""
    title = ctx.campaign.titles_by_code[title_code]
    if ctx.campaign.registration is None or not title.registrable:
        return False
    assert ctx.campaign_row.id is not None  # a stored row
    _name, person_id, unit_id = nominee(ctx, answers)
    subject = (
        f"person:{person_id}"
        if person_id is not None
        else f"unit:{unit_id}"
        if unit_id is not None
        else None
    )
    held = registration.registered_for(
        session=ctx.session, campaign_id=ctx.campaign_row.id, subject=subject
    )
    return title_code not in held


def _reports(ctx: Ctx, answers: Answers) -> list[m.Report]:
    assert ctx.campaign_row.id is not None  # a stored row
    _name, person_id, unit_id = nominee(ctx, answers)
    return citations.citable_reports(
        session=ctx.session, campaign_id=ctx.campaign_row.id, person_id=person_id, unit_id=unit_id
    )


def _reports_prompt(ctx: Ctx, answers: Answers) -> str:
    listed = numbered([f"{r.receipt} · {r.title[:60]}" for r in _reports(ctx, answers)])
    return (
        _(
            "Which reports does it rest on? Type their numbers, separated by commas (e.g. 1, 2), "
            "or “không” for none:"
        )
        + "\n"
        + listed
    )


def _cited(ctx: Ctx, answers: Answers) -> list[m.Report]:
    found = _reports(ctx, answers)
    if not answers.get("reports"):
        return []
    return [found[i] for i in parse_numbers(str(answers["reports"]), len(found), allow_none=True)]


def _check_reports(ctx: Ctx, answers: Answers, value: str) -> None:
    found = _reports(ctx, answers)
    picked = [found[i] for i in parse_numbers(value, len(found), allow_none=True)]
    _guard(ctx, picked)


def _guard(ctx: Ctx, reports: list[m.Report], other_than: int | None = None) -> None:
    assert ctx.campaign_row.id is not None  # a stored row
    taken = citations.taken_by(
        session=ctx.session,
        campaign_id=ctx.campaign_row.id,
        report_ids=[r.id for r in reports if r.id is not None],
        other_than=other_than,
    )
    if taken:
        raise Invalid(citations.taken_text(ctx.campaign, taken))


def _show_reports(ctx: Ctx, answers: Answers, value: object) -> str:
    return ", ".join(r.receipt for r in _cited(ctx, answers)) or _("none")


def _needs_initiative(ctx: Ctx, answers: Answers) -> bool:
    title = ctx.campaign.titles_by_code.get(str(answers.get("title", "")))
    return bool(title and any(c.kind == "initiative" for c in title.all_conditions))


def _precheck(ctx: Ctx, answers: Answers) -> eligibility.Precheck:
    """The pre-check of the nomination as written so far (not stored: nothing is added)."""
    assert ctx.campaign_row.id is not None  # a stored row
    name, person_id, unit_id = nominee(ctx, answers)
    draft = m.Nomination(
        campaign_id=ctx.campaign_row.id,
        receipt="",
        proposer_id=ctx.person.id if ctx.person and ctx.person.id else 0,
        unit_id=_unit_id(ctx, answers),
        audience=str(answers["audience"]),
        nominee_person_id=person_id,
        nominee_unit_id=unit_id,
        nominee_name=name,
        nominee_key=_key(ctx, answers),
        title_code=str(answers["title"]),
        basis=str(answers.get("basis", "")),
    )
    return eligibility.precheck(ctx.session, draft)


def _summary(ctx: Ctx, answers: Answers) -> str:
    name, _pid, _uid = nominee(ctx, answers)
    unit = ctx.session.get(m.Unit, _unit_id(ctx, answers))
    return render(
        "nomination_summary.txt.j2",
        a=answers,
        nominee=name,
        unit=unit,
        title=ctx.campaign.titles_by_code[str(answers["title"])],
        precheck=eligibility.render_text(_precheck(ctx, answers)),
        unregistered=_unregistered(ctx, answers, str(answers["title"])),
        cited=", ".join(r.receipt for r in _cited(ctx, answers)),
        counts=ctx.role != Role.STAFF,
    )


def _finish(ctx: Ctx, answers: Answers) -> list[Reply]:
    assert ctx.person is not None  # flows run for registered people only
    name, person_id, unit_id = nominee(ctx, answers)
    open_now = ctx.open_phases()
    cited = _cited(ctx, answers)
    _guard(ctx, cited)
    try:
        saved = nominations.record_nomination(
            session=ctx.session,
            campaign=ctx.campaign_row,
            proposer=ctx.person,
            unit_id=_unit_id(ctx, answers),
            audience=str(answers["audience"]),
            nominee_name=name,
            nominee_person_id=person_id,
            nominee_unit_id=unit_id,
            title_code=str(answers["title"]),
            basis=str(answers["basis"]),
            initiative=str(answers["initiative"]) if answers.get("initiative") else None,
            phase=open_now[-1] if open_now else None,
            now=ctx.now,
        )
    except nominations.Duplicate as dup:
        raise Invalid(
            _("Already nominated: {receipt}. Choose Cancel.").format(receipt=dup.existing.receipt)
        ) from None
    citations.cite(session=ctx.session, nomination=saved, reports=cited)
    if saved.status == "proposed":
        tell_heads(ctx, saved)
    return [
        Reply(
            render(
                "nomination_receipt.txt.j2",
                receipt=saved.receipt,
                proposed=saved.status == "proposed",
                precheck=eligibility.render_text(eligibility.precheck(ctx.session, saved)),
            )
        )
    ]


HEAD_CHANNELS = ("telegram", "zalo")  # the channels the delivery worker sends on


def tell_heads(ctx: Ctx, saved: m.Nomination) -> int:
    """Queue a note of a staff proposal for each head of the unit (on the channel they used
    last, in their language), so they endorse it in /my; how many were queued."""
    heads = ctx.session.exec(
        select(m.Person).where(
            m.Person.unit_id == saved.unit_id, m.Person.role == Role.HEAD, m.Person.active
        )
    )
    title = ctx.campaign.titles_by_code.get(saved.title_code)
    proposer = ctx.person.full_name if ctx.person else "?"
    queued = 0
    for head in heads:
        identity = reachable_identity(
            session=ctx.session, person_id=head.id, channels=HEAD_CHANNELS
        )
        if identity is None:
            continue
        with language(head.lang):
            text = _(
                "{name} proposes {nominee} for “{title}” ({receipt}). After the unit's "
                "evaluation, endorse it in /my."
            ).format(
                name=proposer,
                nominee=saved.nominee_name,
                title=title.name if title else saved.title_code,
                receipt=saved.receipt,
            )
        queued += queue_message(
            session=ctx.session,
            key=f"proposal:{saved.receipt}:{head.id}",
            identity=identity,
            text=text,
            now=ctx.now,
            priority=5,
        )
    return queued


FLOW = Flow(
    name="nominate",
    steps=(
        Step("audience", "choice", lambda ctx, a: _("Whom do you nominate?"), choices=_audiences),
        Step(
            "unit",
            "choice",
            lambda ctx, a: _("For which unit?"),
            label=lambda: _("Unit"),
            choices=_units,
            when=lambda ctx, a: ctx.role in OFFICE_ROLES,
        ),
        Step(
            "nominee",
            "choice",
            lambda ctx, a: (
                _("Choose the collective you nominate:")
                if a.get("audience") == "collective"
                else _("Choose the person you nominate:")
            ),
            label=lambda: _("Nominee"),
            choices=_nominees,
        ),
        Step(
            "nominee_name",
            "text",
            lambda ctx, a: (
                _("Type the collective's name:")
                if a.get("audience") == "collective"
                else _("Type the person's full name:")
            ),
            max_len=NAME_MAX,
            when=lambda ctx, a: a.get("nominee") == OTHER,
        ),
        Step(
            "title",
            "choice",
            lambda ctx, a: _("Which title or award form?"),
            label=lambda: _("Title or award"),
            choices=_titles,
            check=_check_duplicate,
        ),
        Step(
            "reports",
            "text",
            _reports_prompt,
            label=lambda: _("Reports cited"),
            max_len=200,
            when=lambda ctx, a: bool(_reports(ctx, a)),
            check=_check_reports,
            show=_show_reports,
        ),
        Step(
            "basis",
            "text",
            lambda ctx, a: _("The achievements it rests on (at most {n} characters):").format(
                n=nominations.BASIS_MAX
            ),
            label=lambda: _("Basis"),
            max_len=nominations.BASIS_MAX,
        ),
        Step(
            "initiative",
            "text",
            lambda ctx, a: _(
                "The recognised initiative (sáng kiến): its name, number and date of recognition:"
            ),
            label=lambda: _("Initiative"),
            max_len=nominations.INITIATIVE_MAX,
            when=_needs_initiative,
        ),
    ),
    summary=_summary,
    finish=_finish,
)
