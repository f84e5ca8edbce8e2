"""The demo shop's contact centre: the customers' calls as Amazon Connect contact records (CTR
JSON, one record per line as the contact-record stream writes them to S3).

Planted (``CENTRE``), all drawn from a stream of its own (``seed`` + "contact-centre") so the
web files stay byte-identical:

- **baseline**: every logged-in customer calls about each reason at a constant rate, whatever
  happened on the site (a Poisson process over the simulated week); callers who never log in
  add calls without a customer id.
- **caused**: each page load where ``inventory-db`` failed makes the visitor call about an
  "order problem" with probability ``q``, each shown payment failure a "payment" call — some
  minutes to hours later (uniform ``delay_s``). Anonymous visitors call too, without a
  customer id: nobody can tell which session their call followed. Slow pages cause nothing.
- **repeats** (FCR): an answered call is unresolved with a per-reason probability and the
  caller calls again 1-5 days later; an abandoned caller tries again within the hour. A call
  a failure caused passes its cause on to its repeats and retries (``Call.cause``).
- **handle times** (AHT): talk, hold and wrap-up per reason; a share of calls is transferred
  (a second record, InitiationMethod TRANSFER, PreviousContactId the first).

The customer id attribute ``customer_id`` holds the same login id the site sends as
``enduser.id`` and GA4 ``user_id``, so both pseudonymise to one value.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from parallax.demo.spec import DAYS, START
from parallax.demo.world import Session

__all__ = ["CENTRE", "Call", "Cause", "failure_events", "simulate_contacts", "write_ctr"]

START_S = int(START.timestamp())
END_S = START_S + DAYS * 86_400


@dataclass(frozen=True)
class Cause:
    dependency: str  # a page load where this dependency failed …
    reason: str  # … makes the customer call about this
    q: float  # with this probability


CENTRE: dict[str, Any] = {
    # calls per logged-in customer per day, whatever the site did
    "baseline_per_day": {"order problem": 0.008, "payment": 0.004, "delivery": 0.015,
                         "returns": 0.010, "account": 0.006},
    "anonymous_share": 0.15,  # extra calls from callers without a customer id
    "causes": (Cause("inventory-db", "order problem", 0.15),
               Cause("payments.example-psp.com", "payment", 0.35)),
    "delay_s": (300, 6 * 3600),
    "unresolved": {"order problem": 0.30, "payment": 0.20, "delivery": 0.25, "returns": 0.15,
                   "account": 0.10},
    "repeat_after_s": (86_400, 5 * 86_400),
    "abandon": 0.10, "retry_after_abandon": 0.6, "retry_after_s": (300, 3600),
    "transfer": 0.10,
    "talk_median_s": {"order problem": 300, "payment": 360, "delivery": 240, "returns": 270,
                      "account": 200},
    "hold": 0.30, "hold_median_s": 60, "wrap_median_s": 45, "wait_mean_s": 40,
}
QUEUES = {"order problem": "Orders", "payment": "Billing", "delivery": "Orders",
          "returns": "Returns", "account": "General"}
_INSTANCE = ("arn:aws:connect:eu-central-1:123456789012:instance/"
             "7c1d5a3e-2f4b-4c8e-9a61-0d2f5b8e3c47")


_Start = tuple[int, str | None, str, str, str | None]  # time, customer, reason, origin, cause


@dataclass(frozen=True)
class Call:
    contact_id: str
    customer: str | None
    reason: str
    started_s: int
    origin: str  # baseline | caused | repeat | retry | transfer
    queued_s: int
    answered_s: int | None  # None: abandoned
    ended_s: int
    talk_s: int
    hold_s: int
    holds: int
    wrap_s: int
    agent: str | None
    previous: str | None = None
    transferred: bool = False
    cause: str | None = None  # the dependency whose failure started this problem

    @property
    def is_leg(self) -> bool:
        return self.origin == "transfer"

    @property
    def handle_s(self) -> int:
        return self.talk_s + self.hold_s + self.wrap_s


def failure_events(
        sessions: list[Session]) -> list[tuple[str | None, str, str, str, str, int, float]]:
    """(customer or None, session, route, dependency, reason, time s, q) per page load that
    can cause a call."""
    out = []
    for s in sessions:
        for pv in s.pages:
            for c in CENTRE["causes"]:
                if c.dependency in pv.failed_deps:
                    out.append((s.visitor.user_id, s.visitor.session_id, pv.route,
                                c.dependency, c.reason, pv.start_us // 1_000_000, c.q))
    return out


def simulate_contacts(seed: int, sessions: list[Session]) -> list[Call]:
    rng = random.Random(f"{seed}:contact-centre")
    c = CENTRE
    customers = sorted({s.visitor.user_id for s in sessions if s.visitor.user_id})
    starts: list[_Start] = []
    for cust in customers:
        for reason, rate in c["baseline_per_day"].items():
            t = START_S + rng.expovariate(rate / 86_400)
            while t < END_S:
                starts.append((int(t), cust, reason, "baseline", None))
                t += rng.expovariate(rate / 86_400)
    reasons = list(c["baseline_per_day"])
    for _ in range(round(len(starts) * c["anonymous_share"])):
        starts.append((rng.randrange(START_S, END_S), None, rng.choice(reasons), "baseline",
                       None))
    for who, _, _, dep, reason, t, q in failure_events(sessions):
        if rng.random() < q:
            starts.append((t + rng.randint(*c["delay_s"]), who, reason, "caused", dep))
    calls: list[Call] = []
    queue = sorted(starts, key=lambda x: (x[0], x[1] or "", x[2]))
    while queue:  # follow-ups are appended and handled in turn
        call, follow = _call(rng, *queue.pop(0))
        calls += call
        queue += follow
    return sorted(calls, key=lambda k: (k.started_s, k.contact_id))


def _call(rng: random.Random, t: int, cust: str | None, reason: str, origin: str,
          cause: str | None) -> tuple[list[Call], list[_Start]]:
    c, cid = CENTRE, str(uuid.UUID(int=rng.getrandbits(128), version=4))
    queued = t + rng.randint(15, 60)  # the IVR menu
    if rng.random() < c["abandon"]:
        ended = queued + 5 + int(rng.expovariate(1 / 90))
        follow = ([(ended + rng.randint(*c["retry_after_s"]), cust, reason, "retry", cause)]
                  if rng.random() < c["retry_after_abandon"] else [])
        return [Call(cid, cust, reason, t, origin, queued, None, ended, 0, 0, 0, 0, None,
                     cause=cause)], follow
    answered, talk, hold, holds, wrap, agent = _handled(rng, queued, reason)
    ended = answered + talk + hold
    transfer = rng.random() < c["transfer"]
    first = Call(cid, cust, reason, t, origin, queued, answered, ended, talk, hold, holds, wrap,
                 agent, transferred=transfer, cause=cause)
    out, follow = [first], []
    if transfer:  # a specialist takes over: the leg continues this contact
        q2 = ended + 5
        a2, talk2, hold2, holds2, wrap2, agent2 = _handled(rng, q2, reason)
        out.append(Call(str(uuid.UUID(int=rng.getrandbits(128), version=4)), cust, reason,
                        ended, "transfer", q2, a2, a2 + talk2 + hold2, talk2, hold2, holds2,
                        wrap2, agent2, previous=cid, cause=cause))
    # anonymous callers repeat too: the centre just cannot tell it is the same person
    if origin != "repeat" and rng.random() < c["unresolved"][reason]:
        follow.append((t + rng.randint(*c["repeat_after_s"]), cust, reason, "repeat", cause))
    return out, follow


def _handled(rng: random.Random, queued: int, reason: str,
             ) -> tuple[int, int, int, int, int, str]:
    c = CENTRE
    answered = queued + 2 + int(rng.expovariate(1 / c["wait_mean_s"]))
    talk = int(rng.lognormvariate(_ln(c["talk_median_s"][reason]), 0.5))
    holds = (1 + (rng.random() < 0.3)) if rng.random() < c["hold"] else 0
    hold = sum(int(rng.lognormvariate(_ln(c["hold_median_s"]), 0.6)) for _ in range(holds))
    wrap = int(rng.lognormvariate(_ln(c["wrap_median_s"]), 0.4))
    return answered, talk, hold, holds, wrap, f"agent{rng.randrange(1, 25):02d}"


def _ln(x: float) -> float:
    return math.log(x)


def write_ctr(path: Path, calls: list[Call]) -> None:
    with open(path, "wb") as f:
        for k in calls:
            f.write(orjson.dumps(_record(k)) + b"\n")


def _iso(s: int | None) -> str | None:
    return None if s is None else datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record(k: Call) -> dict:
    attrs = {"reason": k.reason, **({"customer_id": k.customer} if k.customer else {})}
    agent = None if k.answered_s is None else {
        "ARN": f"{_INSTANCE}/agent/{k.agent}", "Username": k.agent,
        "ConnectedToAgentTimestamp": _iso(k.answered_s),
        "AgentInteractionDuration": k.talk_s, "CustomerHoldDuration": k.hold_s,
        "AfterContactWorkDuration": k.wrap_s, "NumberOfHolds": k.holds,
        "AfterContactWorkStartTimestamp": _iso(k.ended_s),
        "AfterContactWorkEndTimestamp": _iso(k.ended_s + k.wrap_s)}
    dequeued = k.answered_s if k.answered_s is not None else k.ended_s
    return {
        "AWSAccountId": "123456789012", "AWSContactTraceRecordFormatVersion": "2017-03-10",
        "Agent": agent, "AgentConnectionAttempts": 0 if agent is None else 1,
        "Attributes": attrs, "Channel": "VOICE", "ContactId": k.contact_id,
        "CustomerEndpoint": {"Address": f"+4930{int(k.contact_id[:8], 16) % 10**7:07d}",
                             "Type": "TELEPHONE_NUMBER"},
        "DisconnectReason": "CUSTOMER_DISCONNECT" if agent is None else "AGENT_DISCONNECT",
        "DisconnectTimestamp": _iso(k.ended_s),
        "InitiationMethod": "TRANSFER" if k.is_leg else "INBOUND",
        "InitiationTimestamp": _iso(k.started_s), "InstanceARN": _INSTANCE,
        "LastUpdateTimestamp": _iso(k.ended_s + k.wrap_s + 60),
        "PreviousContactId": k.previous,
        "Queue": {"ARN": f"{_INSTANCE}/queue/{QUEUES[k.reason].lower()}",
                  "Name": "Specialists" if k.is_leg else QUEUES[k.reason],
                  "EnqueueTimestamp": _iso(k.queued_s), "DequeueTimestamp": _iso(dequeued),
                  "Duration": dequeued - k.queued_s},
        "SystemEndpoint": {"Address": "+498001234567", "Type": "TELEPHONE_NUMBER"},
        "Tags": {"aws:connect:instanceId": _INSTANCE.rsplit("/", 1)[1]},
        "TransferCompletedTimestamp": _iso(k.ended_s) if k.transferred else None,
        "TransferredToEndpoint": None,
    }
