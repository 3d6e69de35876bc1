"""GET /api/v1/events: Last-Event-ID resumes the stream; every published event is documented in OpenAPI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from verifier.api.event_stream import EVENTS

REPO = Path(__file__).resolve().parents[2]


def parse(text: str) -> list[dict]:
    """The events of a text/event-stream body: [{"id", "event", "data"}] (comments skipped)."""
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields:
            out.append({"id": fields.get("id"), "event": fields.get("event"), "data": json.loads(fields["data"])})
    return out


def read(api, token, last_event_id=None, limit=None):
    params = {"timeout_s": 0.3}
    if limit:
        params["limit"] = limit
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    r = api.get("/api/v1/events", token, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return parse(r.text)


def test_last_event_id_resumes_with_the_missed_events(api, tokens, svc):
    for n in range(3):
        svc.bus.publish("transaction_event", {"id": f"t{n}", "type": "redeemed"})
    first = read(api, tokens["clerk"], last_event_id=f"{svc.bus.run}-0")
    assert [e["event"] for e in first] == ["hello", "transaction_event", "transaction_event", "transaction_event"]
    ids = [e["id"] for e in first[1:]]
    assert len(set(ids)) == 3
    # the client saw the first one, then lost the connection; two more happen meanwhile
    svc.bus.publish("transaction_event", {"id": "t3", "type": "extended"})
    resumed = read(api, tokens["clerk"], last_event_id=ids[0])
    assert [e["event"] for e in resumed] == ["hello"] + ["transaction_event"] * 3
    assert [e["data"]["id"] for e in resumed[1:]] == ["t1", "t2", "t3"]
    assert resumed[1]["id"] == ids[1]
    # up to date: nothing replayed, no reset
    latest = read(api, tokens["clerk"], last_event_id=resumed[-1]["id"])
    assert [e["event"] for e in latest] == ["hello"]


def test_a_resume_that_cannot_be_complete_says_reset(api, tokens, svc):
    svc.bus.publish("scan", {"scan_id": "s1", "status": "reading", "step": "DG1"})
    # an id from an earlier run of the service (restart): reset, then what this run kept
    events = read(api, tokens["clerk"], last_event_id="abc-17")
    assert [e["event"] for e in events][:3] == ["hello", "reset", "scan"]
    assert "tải lại" in events[1]["data"]["reason_vi"] and "reload" in events[1]["data"]["reason"]
    # an id older than the ring
    small = type(svc.bus)(history=2)
    for n in range(5):
        small.publish("scan", {"scan_id": f"s{n}", "status": "reading", "step": "DG1"})
    missed, complete = small.since(f"{small.run}-1")
    assert not complete and [m["data"]["scan_id"] for m in missed] == ["s3", "s4"]
    missed, complete = small.since(f"{small.run}-3")
    assert complete and [m["data"]["scan_id"] for m in missed] == ["s3", "s4"]  # s0 is event 1: s3 is 4


def test_limit_counts_replayed_events(api, tokens, svc):
    for n in range(4):
        svc.bus.publish("card_inserted", {"reader": f"r{n}"})
    events = read(api, tokens["integrator"], last_event_id=f"{svc.bus.run}-0", limit=2)
    assert [e["data"].get("reader") for e in events[1:]] == ["r0", "r1"]


def test_inspector_may_not_listen(api, tokens):
    r = api.get("/api/v1/events", tokens["inspector"], params={"timeout_s": 0.1})
    assert r.status_code == 403


def test_every_published_event_is_documented(api, tokens):
    published = set()
    for path in list((REPO / "verifier").rglob("*.py")) + list((REPO / "sync").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        published |= set(re.findall(r"\.publish\(\s*\"(\w+)\"", text))
        published |= {f"card_{kind}" for kind in ("inserted", "removed")} if 'publish(f"card_' in text else set()
    assert published, "no publish() call found: the scan of the source is broken"
    assert published <= set(EVENTS), f"undocumented events: {sorted(published - set(EVENTS))}"
    spec = api.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/events"]["get"]
    examples = op["responses"]["200"]["content"]["text/event-stream"]["examples"]
    assert set(examples) == set(EVENTS)
    for name, example in examples.items():
        assert parse(example["value"])[0]["event"] == name
    assert all(f"`{name}`" in op["description"] for name in EVENTS)
    assert any(p["name"] == "Last-Event-ID" and p["in"] == "header" for p in op["parameters"])
