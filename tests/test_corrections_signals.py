"""The pure parts of corrections: the detector, wording comparisons, routing and drafting."""

from __future__ import annotations

from once.corrections.proposals import draft, route, skill_document, skill_name
from once.corrections.signals import Correction, correction_ref, detect_corrections
from once.corrections.wording import contradicts, fingerprint, near_duplicate
from once.skills.frontmatter import parse_frontmatter


def started(run: str, session: str = "s-1") -> dict:
    return {"type": "run_started", "run_id": run, "ts": 1.0, "session_id": session, "prompt": "p", "model": "m1"}


EVENTS = [
    started("r-1"),
    {"type": "user_message", "run_id": "r-1", "ts": 2.0, "text": "fix it"},
    {"type": "note", "run_id": "r-1", "ts": 3.0, "text": "Always run ruff before committing"},
    {"type": "plan_decision", "run_id": "r-1", "ts": 4.0, "decision": "approved", "reason": "looks good to me"},
    {"type": "plan_decision", "run_id": "r-1", "ts": 5.0, "decision": "rejected", "reason": "do not touch the migrations folder"},
    started("r-2", "s-2"),
    {"type": "undo", "run_id": "r-2", "ts": 6.0, "shas": ["abc"], "method": "reset", "reason": "never edit generated files"},
    {"type": "undo", "run_id": "r-2", "ts": 7.0, "shas": ["def"], "method": "reset", "reason": ""},
    {"type": "feedback", "run_id": "r-2", "ts": 8.0, "rating": "down", "comment": "wrong: tests live in tests/unit"},
    {"type": "feedback", "run_id": "r-2", "ts": 9.0, "rating": "up", "comment": "great work on this one"},
    {"type": "feedback", "run_id": "r-2", "ts": 10.0, "rating": "down", "comment": "bad"},
    {"type": "feedback", "run_id": "r-2", "ts": 11.0, "rating": "down", "comment": "too slow"},
    {"type": "feedback", "run_id": "r-2", "ts": 12.0, "rating": "down", "comment": "Nope."},
]


def test_detector_finds_each_kind_of_correction_with_its_session():
    found = detect_corrections(EVENTS)
    assert [(c.kind, c.run_id, c.session_id) for c in found] == [
        ("note", "r-1", "s-1"), ("plan_rejected", "r-1", "s-1"),
        ("undo_reason", "r-2", "s-2"), ("bad_comment", "r-2", "s-2"), ("bad_comment", "r-2", "s-2")]
    assert found[2].text == "never edit generated files"
    assert found[4].text == "too slow"  # short, but it says what is wanted; "bad" and "Nope." do not
    assert found[0].confidence > found[3].confidence


def test_detector_refs_are_stable_and_distinct():
    first, again = detect_corrections(EVENTS), detect_corrections(list(EVENTS))
    assert [c.ref for c in first] == [c.ref for c in again]
    assert len({c.ref for c in first}) == len(first)
    moved = [dict(e, ts=e["ts"] + 100) if e["type"] == "note" else e for e in EVENTS]
    assert detect_corrections(moved)[0].ref != first[0].ref  # a later, separate note is a new correction


def test_wording_contradictions_and_duplicates():
    assert contradicts("Never use tabs for indentation", "Always use tabs for indentation")
    assert contradicts("use unittest instead of pytest", "use pytest instead of unittest")
    assert contradicts("Don't use tabs for indentation.", "Use tabs for indentation")
    assert not contradicts("Run the linter before committing", "Tests live in tests/unit")
    assert near_duplicate("Always run ruff before committing.", "always run ruff before committing")
    assert not near_duplicate("use unittest instead of pytest", "use pytest instead of unittest")
    assert fingerprint("memory", "Run  Ruff!") == fingerprint("memory", "run ruff")
    assert fingerprint("memory", "run ruff") != fingerprint("skill", "run ruff")


def correction(kind: str, text: str) -> Correction:
    return Correction(kind=kind, ref=correction_ref(kind, "r-1", 1.0, text), ts=1.0, run_id="r-1",
                      session_id="s-1", text=text)


def test_routing_by_kind_prefix_and_shape():
    assert route(correction("note", "run ruff before committing"))[0] == "memory"
    assert route(correction("undo_reason", "never edit generated files"))[0] == "memory"
    assert route(correction("bad_comment", "tests live in tests/unit"))[0] == "knowledge"
    assert route(correction("plan_rejected", "do not touch the migrations"))[0] == "knowledge"
    assert route(correction("bad_comment", "memory: tests live in tests/unit")) == ("memory", "tests live in tests/unit")
    steps = "To release:\n1. bump the version\n2. run the tests\n3. tag and push"
    assert route(correction("note", steps))[0] == "skill"


def test_skill_drafts_are_valid_agent_skills():
    text = "skill: To release a version:\n1. bump the version in pyproject\n2. run the tests\n3. tag and push"
    proposal = draft(correction("note", text), repo="/r", proposal_id="p-1", now=5.0)
    assert proposal.target == "skill" and proposal.status == "pending" and proposal.target_key == f"skill:{proposal.location}"
    meta, body = parse_frontmatter(proposal.body)
    assert meta["name"] == proposal.location == skill_name(text.removeprefix("skill: "))
    assert len(meta["name"]) <= 64 and meta["description"].startswith("To release a version:")
    assert "3. tag and push" in body
    assert parse_frontmatter(skill_document("x", 'say "hi": twice', "a note"))[0]["description"]


def test_memory_draft_carries_rationale_and_expected_outcome():
    proposal = draft(correction("note", "Always run ruff before committing"), repo="/r", proposal_id="p-1", now=5.0)
    assert proposal.body == "- Always run ruff before committing" and proposal.proposed_by == "user"
    assert "r-1" in proposal.rationale and "memory.md" in proposal.expected
    assert proposal.signal_ref == correction("note", "Always run ruff before committing").ref
