"""The fault rules as built, before any kernel sees them: tags, links, directions, removals, parsing."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.faults import rules
from harness.faults.model import (
    QDISC_HANDLE,
    Fault,
    FaultInputError,
    Kind,
    Link,
    Target,
    make_fault,
    parse_bytes,
    parse_ms,
    parse_rate,
)

TARGET = Target("ml-c4-emu", "10.213.7.2", 22, 8883, "veth1a2b", "eth0", ("nsenter", "-t", "42", "-n"))


def listing(rule_list: list[rules.Rule]) -> str:
    """What ``iptables -t T -S`` prints for these rules (it quotes a comment with a colon)."""
    lines = []
    for rule in rule_list:
        args = list(rule.args)
        i = args.index("--comment")
        args[i + 1] = f'"{args[i + 1]}"'
        lines.append(" ".join(["-A", rule.chain, *args]))
    return "-P INPUT ACCEPT\n-A INPUT -i lo -j ACCEPT\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind,value", [("loss", "5%"), ("down", None), ("reset", "64k")])
@pytest.mark.parametrize("link", list(Link))
def test_every_rule_is_tagged_and_has_its_removal(kind, value, link):
    fault = make_fault(kind, value, link=link)
    built = rules.filter_rules(TARGET, fault)
    assert len(built) == (1 if kind == "reset" else 2)  # loss and down: one per direction
    for rule in built:
        assert f"hil-fault:ml-c4-emu:{kind}-{link}" in rule.args
        add, delete = rule.add(), rule.delete()
        assert add[add.index("-I") + 1:] == [rule.chain, "1", *rule.args]  # first: before any ACCEPT
        assert delete[delete.index("-D") + 1:] == [rule.chain, *rule.args]
    sources = [r.args[r.args.index("-s") + 1] for r in built if "-s" in r.args]
    dests = [r.args[r.args.index("-d") + 1] for r in built if "-d" in r.args]
    assert sources == [TARGET.address] and dests == ([] if kind == "reset" else [TARGET.address])


def test_links_are_named_by_the_connections_original_port():
    controller = rules.filter_rules(TARGET, make_fault("loss", "5%", link="controller"))
    broker = rules.filter_rules(TARGET, make_fault("loss", "5%", link="broker"))
    assert all(" --ctorigdstport 22 " in " ".join(r.args) for r in controller)
    assert all(" --ctorigdstport 8883 " in " ".join(r.args) for r in broker)
    assert not any("ctorigdstport" in r.args for r in rules.filter_rules(TARGET, make_fault("loss", "5%")))


def test_loss_and_down_drop_on_the_wire_resets_reject_in_filter():
    loss = rules.filter_rules(TARGET, make_fault("loss", "5%"))
    assert {(r.table, r.chain) for r in loss} == {("mangle", "PREROUTING"), ("mangle", "POSTROUTING")}
    assert all(r.args[r.args.index("--probability") + 1] == "0.05" for r in loss)
    reset = rules.filter_rules(TARGET, make_fault("reset", "64k"))
    assert [(r.table, r.chain) for r in reset] == [("filter", "INPUT")]
    assert all(r.args[-2:] == ("--reject-with", "tcp-reset") for r in reset)
    assert "! --tcp-flags RST RST" in " ".join(reset[0].args)  # the device's own reset reaches the controller
    assert all(r.args[r.args.index("--connbytes") + 1] == "65536:" for r in reset)


def test_a_broker_link_needs_the_broker_port():
    no_broker = Target("pi-07", "10.0.0.7")
    with pytest.raises(FaultInputError, match="no broker port"):
        rules.filter_rules(no_broker, make_fault("down", link="broker"))


def test_the_proxy_redirect_skips_the_proxys_own_connections():
    fault = make_fault("latency", "200ms")
    (controller,) = rules.redirect_rules(TARGET, fault, Link.CONTROLLER, 40001)
    assert (controller.table, controller.chain) == ("nat", "OUTPUT")
    assert "! --mark 0x4849" in " ".join(controller.args)
    (broker,) = rules.redirect_rules(TARGET, fault, Link.BROKER, 40002)
    assert (broker.table, broker.chain) == ("nat", "PREROUTING")
    assert broker.args[:2] == ("-s", TARGET.address) and "8883" in broker.args
    assert rules.proxied_links(fault) == [Link.CONTROLLER, Link.BROKER]


def test_tagged_deletes_find_ours_only_and_per_device():
    mine = rules.filter_rules(TARGET, make_fault("loss", "5%"))
    other = rules.filter_rules(Target("rasp4b-emu", "10.213.7.3"), make_fault("down"))
    text = listing(mine + other) + '-A OUTPUT -m comment --comment "not ours" -j ACCEPT\n'
    assert len(rules.tagged_deletes("mangle", text)) == 4
    deletes = rules.tagged_deletes("mangle", text, device="ml-c4-emu")
    assert [d[d.index("-D") + 1:] for d in deletes] == [[r.chain, *r.args] for r in mine]
    assert rules.tagged_deletes("mangle", "garbage 'unbalanced\n-A\n") == []


def test_rate_qdiscs_have_our_handle_and_a_burst_above_the_mtu():
    fault = make_fault("rate", "1mbit")
    argv = rules.qdisc_add("veth1a2b", fault)
    assert argv[argv.index("handle") + 1] == QDISC_HANDLE and "tbf" in argv
    assert argv[argv.index("rate") + 1] == "1000kbit"
    assert int(argv[argv.index("burst") + 1]) >= 1514
    assert rules.tbf_burst(100_000) == 100_000 * 1000 // 8 // 50  # 20 ms at the rate when that is more
    shown = ("qdisc noqueue 0: dev lo root refcnt 2\nqdisc tbf 4849: dev veth1a2b root refcnt 2 rate 1Mbit\n"
             "qdisc tbf 8001: dev eth0 root rate 5Mbit\n")
    assert rules.owned_qdiscs(shown) == ["veth1a2b"]
    netem = rules.qdisc_add("eth0", make_fault("latency", "200ms", jitter="20ms"))
    assert netem[-3:] == ["delay", "100ms", "10ms"]  # half the round trip on each end


def test_bad_words_are_refused_before_anything_is_touched():
    for args, message in [(("latency", None), "needs a value"), (("down", "5"), "takes no value"),
                          (("loss", "0%"), "share of packets"), (("loss", "101"), "share of packets"),
                          (("rate", "fast"), "not a rate"), (("reset", "0"), "positive byte"),
                          (("jam", "1"), "kinds are")]:
        with pytest.raises(FaultInputError, match=message):
            make_fault(*args)
    with pytest.raises(FaultInputError, match="jitter belongs"):
        make_fault("loss", "5%", jitter="5ms")
    with pytest.raises(FaultInputError, match="whole link"):
        make_fault("rate", "1mbit", link="broker")
    with pytest.raises(FaultInputError, match="jitter ≤ RTT/2"):
        make_fault("latency", "20ms", jitter="15ms")
    for name in ("", "a b", "x;rm", "-dash"):
        with pytest.raises(FaultInputError):
            Target(name, "10.0.0.1")
    with pytest.raises(FaultInputError, match="IPv4"):
        Target("pi", "pi.local")


@given(st.integers(1, 10**6), st.sampled_from(["", "ms", "s"]))
def test_durations_parse_in_their_unit(n, unit):
    assert parse_ms(f"{n}{unit}") == (n * 1000 if unit == "s" else n)


@given(st.integers(8, 10**6))
def test_rates_in_kbit_and_mbit_agree(kbit):
    assert parse_rate(f"{kbit}kbit") == kbit
    assert parse_rate(f"{kbit}mbit") == kbit * 1000


@given(st.integers(1, 10**6), st.sampled_from(["", "k", "K", "m", "M"]))
def test_byte_counts_are_binary(n, unit):
    assert parse_bytes(f"{n}{unit}") == n * {"": 1, "k": 1024, "m": 1024**2}[unit.lower()]


@given(st.text(max_size=12))
def test_parsers_accept_or_refuse_never_crash(text):
    for parse in (parse_ms, parse_rate, parse_bytes):
        try:
            parse(text)
        except FaultInputError:
            pass


@given(st.sampled_from(list(Kind)), st.sampled_from(list(Link)))
def test_a_fault_survives_its_record(kind, link):
    value = {Kind.LATENCY: "150ms", Kind.LOSS: "2.5%", Kind.RATE: "3mbit", Kind.DOWN: None, Kind.RESET: "1M"}[kind]
    if kind is Kind.RATE:
        link = Link.ALL
    fault = make_fault(kind, value, link=link)
    assert Fault.from_dict(fault.as_dict()) == fault
    assert shlex.split(fault.describe())
