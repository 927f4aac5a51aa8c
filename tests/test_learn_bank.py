"""The knowledge bank: storage, FTS and embeddings in step, status moves, retrieval, admission."""

from __future__ import annotations

import pytest

from once.errors import UsageError
from once.learn.admit import MAX_UNRELATED_RATE, admit, check_admission
from once.learn.bank import Bank, KnowledgeEntry
from once.learn.embed import HashedNgramEmbedder
from once.learn.retrieve import SCORE_THRESHOLD, retrieve
from once.store import Store

REPO = "/src/app"
SECRET = "sk-ant-api03-" + "a" * 40


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "once.db") as opened:
        yield opened


@pytest.fixture
def bank(store):
    return Bank(store.conn, embedder=HashedNgramEmbedder())


def entry(title="pytest cannot import the package",
          description="ModuleNotFoundError: No module named 'app' when running pytest; src layout not installed",
          knowledge="Install the package editable (pip install -e .) before running pytest.",
          **kw) -> KnowledgeEntry:
    kw.setdefault("repo", REPO)
    return KnowledgeEntry(title=title, description=description, knowledge=knowledge, **kw)


DATETIME = dict(title="naive and aware datetimes", description="TypeError: can't compare offset-naive and "
                "offset-aware datetimes in the scheduler", knowledge="Use datetime.now(timezone.utc) everywhere.")


def test_add_get_by_prefix_and_list_filters(bank):
    first = bank.add(entry(status="probation"))
    second = bank.add(entry(**DATETIME, status="candidate"))
    other = bank.add(entry(**DATETIME, repo="/src/other"))
    shared = bank.add(entry(**DATETIME, scope="global"))
    got = bank.get(first[:-3])
    assert got is not None and got.id == first and got.title == "pytest cannot import the package"
    assert got.embedder == "hashed-ngram-512" and got.created_at > 0
    assert {e.id for e in bank.list(repo=REPO)} == {first, second, shared}
    assert {e.id for e in bank.list(status="candidate", repo="/src/other")} == {other, shared}
    assert [e.id for e in bank.list(status="candidate", repo="/src/other", include_global=False)] == [other]
    assert bank.get(shared).repo is None  # global entries belong to no repository
    with pytest.raises(UsageError, match="more than one"):
        bank.get("k-")
    assert bank.get("k-nothing") is None


def test_everything_stored_is_redacted(bank, store):
    entry_id = bank.add(entry(knowledge=f"export ANTHROPIC_API_KEY={SECRET} then rerun",
                              description=f"auth failed with key {SECRET}"))
    stored = bank.get(entry_id)
    assert SECRET not in stored.knowledge and "[REDACTED" in stored.knowledge
    dump = "\n".join(store.conn.iterdump())
    assert SECRET not in dump


def test_update_keeps_fts_and_embedding_in_step(bank, store):
    entry_id = bank.add(entry())
    before = store.conn.execute("SELECT embedding FROM knowledge WHERE id = ?", (entry_id,)).fetchone()[0]
    assert [e.id for e, _ in bank.search("ModuleNotFoundError")] == [entry_id]
    changed = bank.get(entry_id)
    changed.description = "Flaky websocket reconnect loop in the dashboard"
    bank.update(changed)
    after = store.conn.execute("SELECT embedding FROM knowledge WHERE id = ?", (entry_id,)).fetchone()[0]
    assert after != before
    assert bank.search("ModuleNotFoundError") == []
    assert [e.id for e, _ in bank.search("websocket")] == [entry_id]


def test_set_status_logs_the_move_and_sets_the_holdout(bank):
    entry_id = bank.add(entry())
    moved = bank.set_status(entry_id, "active", "beat the holdout", "promote")
    assert moved.status == "active" and moved.holdout == pytest.approx(0.10)
    assert bank.get(entry_id).holdout == pytest.approx(0.10)
    log = bank.log(entry_id)
    assert [(r["action"], r["from_status"], r["to_status"]) for r in log] == [
        ("created", "", "candidate"), ("promote", "candidate", "active")]
    with pytest.raises(UsageError, match="unknown status"):
        bank.set_status(entry_id, "famous", "", "x")


def test_remove_deletes_row_fts_and_exposures(bank, store):
    entry_id = bank.add(entry(status="probation"))
    store.conn.execute("INSERT INTO exposures (entry_id, session_id, run_id, arm, score, ts)"
                       " VALUES (?, 's', 'r', 'holdout', 0.5, 1)", (entry_id,))
    bank.remove(entry_id)
    assert bank.get(entry_id) is None and bank.search("pytest") == []
    assert store.conn.execute("SELECT COUNT(*) FROM exposures").fetchone()[0] == 0
    assert bank.log(entry_id)[-1]["action"] == "removed"


def test_invalid_entries_are_refused(bank):
    with pytest.raises(UsageError, match="needs its repository"):
        bank.add(entry(repo=None))
    with pytest.raises(UsageError, match="non-empty knowledge"):
        bank.add(entry(knowledge="  "))
    with pytest.raises(UsageError, match="scope"):
        bank.add(entry(scope="team"))


def test_retrieval_finds_related_live_entries_only(bank):
    live = bank.add(entry(status="probation"))
    bank.add(entry(title="candidate twin", status="candidate"))
    bank.add(entry(title="other repo twin", status="active", repo="/src/other"))
    dates = bank.add(entry(**DATETIME, status="active", scope="global"))
    embedder = bank.embedder
    hits = retrieve(bank.conn, "run the tests; pytest says No module named app", repo=REPO, embedder=embedder)
    assert [h.entry.id for h in hits] == [live]
    assert hits[0].score >= SCORE_THRESHOLD and 0 < hits[0].lexical <= 1
    hits = retrieve(bank.conn, "scheduler crashes comparing offset-naive datetimes", repo=REPO, embedder=embedder)
    assert [h.entry.id for h in hits] == [dates]
    assert retrieve(bank.conn, "add a --verbose flag to cli.py", repo=REPO, embedder=embedder) == []


def test_retrieval_respects_k_and_sees_paraphrases_through_embeddings(bank):
    ids = [bank.add(entry(title=f"pytest import problem {i}", status="active")) for i in range(5)]
    hits = retrieve(bank.conn, "pytest No module named app", repo=REPO, embedder=bank.embedder, k=2)
    assert len(hits) == 2 and {h.entry.id for h in hits} <= set(ids)
    # A typo'd error name shares no FTS word with the entry; the n-gram embedding still finds it.
    hits = retrieve(bank.conn, "ModuleNotFoundErorr pytst", repo=REPO, embedder=bank.embedder, k=5,
                    threshold=0.05)
    assert hits and hits[0].lexical == 0 and hits[0].semantic > 0.1


UNRELATED = ["add a --verbose flag to cli.py", "write a README section about installation",
             "refactor the database layer to use connection pooling", "add type hints to util.py",
             "why is the build slow", "rename the settings page", "bump the version to 2.0",
             "add a dark mode toggle", "document the REST endpoints", "remove dead code in the parser"]


def test_admission_admits_a_precise_entry(bank):
    entry_id = bank.add(entry())
    result = admit(bank, entry_id, ["pytest fails: No module named app"], UNRELATED)
    assert result.admitted and result.own_hits == 1 and result.unrelated_hits == 0
    stored = bank.get(entry_id)
    assert stored.status == "probation" and stored.status_reason.startswith("admitted")


def test_admission_keeps_a_narrow_entry_a_candidate_and_says_why(bank):
    entry_id = bank.add(entry())
    result = admit(bank, entry_id, ["the dashboard chart colors are wrong"], UNRELATED)
    assert not result.admitted and result.own_hits == 0
    stored = bank.get(entry_id)
    assert stored.status == "candidate" and "too narrow" in stored.status_reason and "0/1" in stored.status_reason


def test_admission_rejects_an_entry_retrieved_for_unrelated_sessions(bank):
    broad = entry(title="add code", description="add code to the file, write docs, update the README",
                  knowledge="Be careful.")
    prompts = ["add code to handle errors", "write docs for the api", "update the README", *UNRELATED]
    result = check_admission(broad, ["add code"], prompts, embedder=bank.embedder)
    assert not result.admitted and "too broad" in result.reason
    assert result.unrelated_hits / result.unrelated_total > MAX_UNRELATED_RATE


def test_add_many_stores_what_add_stores(bank, store) -> None:
    one = bank.add(entry(status="probation", id="k-one"))
    many = bank.add_many([entry(status="probation", id=f"k-many-{i}", title=f"{DATETIME['title']} {i}",
                                description=DATETIME["description"], knowledge=f"{DATETIME['knowledge']} {SECRET}")
                          for i in range(5)], chunk=2)
    assert many == [f"k-many-{i}" for i in range(5)]
    columns = "status, embedder, length(embedding), repo IS NULL, scope"
    single = store.conn.execute(f"SELECT {columns} FROM knowledge WHERE id = ?", (one,)).fetchone()
    for entry_id in many:
        row = store.conn.execute(f"SELECT {columns} FROM knowledge WHERE id = ?", (entry_id,)).fetchone()
        assert tuple(row) == tuple(single)
        assert SECRET not in bank.get(entry_id).knowledge  # redacted like `add`
        assert [log["action"] for log in bank.log(entry_id)] == ["created"]
    found = {e.id for e, _ in bank.search("offset-naive datetimes scheduler", k=10)}
    assert found == set(many), "every entry is in the full-text index"
    with pytest.raises(UsageError):
        bank.add_many([entry(id="k-many-0")])
