"""Retrieval at scale: the FTS query plan (bounded cost), document-frequency counts and their
cache, the light scoring path that reads full entries only for hits, the prompt-vector cache."""

from __future__ import annotations

import pytest

from once.learn import candidates
from once.learn.bank import Bank, KnowledgeEntry
from once.learn.candidates import (
    QueryPlan,
    bank_generation,
    common_cap,
    fts_candidates,
    plan_query,
)
from once.learn.embed import HashedNgramEmbedder
from once.learn.retrieve import query_words, retrieve
from once.store import Store

REPO = "/src/app"
LIVE = ("probation", "active")


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "once.db") as opened:
        yield opened


@pytest.fixture
def bank(store):
    return Bank(store.conn, embedder=HashedNgramEmbedder())


def add(bank: Bank, title: str, description: str, **kw) -> str:
    kw.setdefault("status", "active")
    return bank.add(KnowledgeEntry(title=title, description=description, knowledge=f"Advice for {title}.",
                                   repo=REPO, **kw))


def test_plan_keeps_rare_words_within_the_budget_and_lets_the_rest_rank():
    words = ["typeerror", "zorblax", "socket", "flaky", "tests", "missing"]
    df = {"typeerror": 19_000, "zorblax": 40, "socket": 3_000, "flaky": 2_500, "tests": 100_000}
    plan = plan_query(words, df, bank_rows=100_000, budget=4_000)
    # Rarest first: zorblax (40) + flaky (2,500) fit; socket would pass the budget.
    assert plan.matching == ["zorblax", "flaky"]
    # Commoner words only rank; a word in nearly every entry, or in none, does not even do that.
    assert plan.ranking == ["typeerror", "socket"]
    assert plan.expression() == ('("zorblax" OR "flaky") AND ("zorblax" OR "flaky" OR "typeerror" OR "socket")')


def test_plan_always_keeps_the_rarest_word_and_drops_words_over_the_cap():
    cap = common_cap(100_000)
    assert cap == 5_000
    plan = plan_query(["big", "huge"], {"big": 4_500, "huge": 9_000}, bank_rows=100_000, budget=100)
    assert plan.matching == ["big"] and plan.ranking == ["huge"]
    only_common = plan_query(["huge"], {"huge": 9_000}, bank_rows=100_000)
    assert only_common == QueryPlan(matching=[], ranking=["huge"]) and only_common.expression() == ""
    # A small bank keeps every word that is present: nothing there is expensive.
    small = plan_query(["a1", "b2", "c3"], {"a1": 3, "b2": 200, "c3": 0}, bank_rows=300)
    assert small.matching == ["a1", "b2"] and small.ranking == [] and small.expression() == '"a1" OR "b2"'


def test_ranking_words_order_the_rare_matches_without_adding_rows(bank, store, monkeypatch):
    """12 entries share the rarest word, more than the candidates taken; the one that also has
    the prompt's commoner words must come first, and entries with only those never match."""
    monkeypatch.setattr(candidates, "POSTING_BUDGET", 15)
    for i in range(12):
        add(bank, f"zorblax failure {i}", f"zorblax broke in step {i} of the importer")
    target = add(bank, "zorblax failure in the websocket", "zorblax broke while the websocket reconnected")
    common = [add(bank, f"websocket drop {i}", f"websocket reconnected in loop {i}") for i in range(25)]
    for i in range(70):
        add(bank, f"unrelated chore {i}", f"rename the settings page colour {i}")
    words = query_words("zorblax broke when the websocket reconnected")
    got = fts_candidates(store.conn, words, REPO, LIVE, limit=3)
    rowid = dict(store.conn.execute("SELECT id, rowid FROM knowledge").fetchall())
    assert rowid[target] in got and len(got) == 3
    assert not got & {rowid[c] for c in common}  # "websocket" ranked, it did not match
    hits = retrieve(store.conn, "zorblax broke when the websocket reconnected", repo=REPO,
                    embedder=bank.embedder, k=1)
    assert [h.entry.id for h in hits] == [target]


def test_document_frequencies_are_estimated_past_the_cap_and_follow_the_bank(bank, store, monkeypatch):
    monkeypatch.setattr(candidates, "COMMON_TERM_MIN", 20)
    for i in range(80):
        add(bank, f"flaky widget {i}", f"the widget test {i} fails at random" + (" quasar" if i < 3 else ""))
    generation = bank_generation(store.conn)
    cap = common_cap(int(generation[1]))
    assert cap == 20
    freqs = candidates._doc_freqs(store.conn, ["widget", "quasar", "absent"], cap, generation)
    assert freqs["quasar"] == 3 and freqs["absent"] == 0
    assert 60 <= freqs["widget"] <= 100  # estimated from where the 21st match lies: truly 80
    add(bank, "quasar again", "quasar drift in the widget")
    generation = bank_generation(store.conn)
    assert candidates._doc_freqs(store.conn, ["quasar"], cap, generation)["quasar"] == 4


def test_hits_carry_the_full_entry_though_scoring_reads_less(bank):
    entry_id = add(bank, "pytest cannot import the package",
                   "ModuleNotFoundError: No module named 'app' when running pytest", sources=["s-1:r-1"],
                   merged_count=3)
    add(bank, "naive and aware datetimes", "TypeError: can't compare offset-naive and offset-aware datetimes")
    hits = retrieve(bank.conn, "pytest says No module named app", repo=REPO, embedder=bank.embedder)
    assert [h.entry.id for h in hits] == [entry_id]
    assert hits[0].entry == bank.get(entry_id)
    assert hits[0].entry.sources == ["s-1:r-1"] and hits[0].entry.knowledge.startswith("Advice for")


class CountingEmbedder(HashedNgramEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return super().embed(texts)


def test_the_prompt_is_embedded_once_per_embedder(bank):
    add(bank, "pytest cannot import the package", "ModuleNotFoundError: No module named 'app' when running pytest")
    counting = CountingEmbedder()
    first = retrieve(bank.conn, "pytest: No module named app", repo=REPO, embedder=counting)
    again = retrieve(bank.conn, "pytest: No module named app", repo=REPO, embedder=counting)
    assert first == again and len(first) == 1
    assert counting.texts.count("pytest: No module named app") == 1
    other = CountingEmbedder()  # a different embedder never sees another's cached vectors
    retrieve(bank.conn, "pytest: No module named app", repo=REPO, embedder=other)
    assert other.texts == ["pytest: No module named app"]


def test_vectors_stored_by_another_embedder_are_recomputed_not_compared(bank):
    entry_id = add(bank, "pytest cannot import the package",
                   "ModuleNotFoundError: No module named 'app' when running pytest")
    smaller = HashedNgramEmbedder(dim=256)  # stored rows hold 512 floats: never dotted with 256
    hits = retrieve(bank.conn, "pytest says No module named app", repo=REPO, embedder=smaller)
    assert [h.entry.id for h in hits] == [entry_id]
    expected = smaller.embed(["pytest says No module named app", hits[0].entry.retrieval_text()])
    assert hits[0].semantic == pytest.approx(float(expected[0] @ expected[1]), abs=1e-5)
