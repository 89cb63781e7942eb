"""Reply templates render in a sandbox: values filled, gaps visible, internals unreachable."""
from __future__ import annotations

import pytest

from server.render import RenderError, check_template, placeholders, render

CONTEXT = {"customer": {"first_name": "Maria", "email": ""}, "order": {"id": "A-10482"}}


def test_placeholders_are_filled_and_gaps_are_marked_and_listed():
    r = render("Hi {{ customer.first_name }}, order {{ order.id }}: {{ offer.code }} {{ customer.email }}", CONTEXT)
    assert r.text == "Hi Maria, order A-10482: [[offer.code]] [[customer.email]]"
    assert r.missing == ["offer.code", "customer.email"]


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ customer.__class__.__init__.__globals__ }}",
    "{{ order.id.__class__.__mro__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
])
def test_template_injection_is_refused_on_save_and_never_renders(payload):
    assert check_template("x " + payload)  # refused with a reason
    with pytest.raises(RenderError) as caught:  # one stored before the checks: an error, not its source
        render("x " + payload, CONTEXT)
    for leaked in ("<class", "uid=", "<function", "<module", "Popen"):
        assert leaked not in str(caught.value)


def test_output_is_plain_text_not_escaped_html():
    r = render("{{ customer.first_name }}", {"customer": {"first_name": "<b>Al & Bo</b>"}})
    assert r.text == "<b>Al & Bo</b>"  # inserted as text by clients, so no HTML escaping here


def test_check_template_names_unknown_roots_and_syntax_errors():
    assert check_template("Hi {{ customer.first_name }} {{ fields.reason }}") == []
    assert "unknown placeholder 'secrets'" in check_template("{{ secrets.key }}")[0]
    assert "syntax error" in check_template("{{ customer.first_name")[0]


def test_placeholders_lists_leaf_paths():
    assert placeholders("{{ customer.first_name }} {{ fields.refund_method }} {{ order.id }}") == [
        "customer.first_name", "fields.refund_method", "order.id"]


def test_the_render_time_limit_leaves_out_garbage_collection():
    # A full collection of a large heap runs in whichever thread allocates, and may take longer
    # than a render's whole limit: it must not count as the template's work.
    import gc
    import time

    from server.render import work_time
    heap = [[i] for i in range(1_000_000)]  # a large heap for the collector to walk
    before_cpu, before_work = time.thread_time(), work_time()
    gc.collect()
    collected = time.thread_time() - before_cpu
    assert collected > 0.005  # the collection itself took measurable CPU
    assert work_time() - before_work < collected / 2
    del heap
