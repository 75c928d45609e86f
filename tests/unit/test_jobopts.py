"""Unit tests for the options jobs get from their outputs: buffer_pages, interval."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.catalog import Catalog
from fleet.errors import InputError
from fleet.jobdoc import describe_job
from fleet.playbook import Playbook, load_playbook


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.default()


def book(tmp_path: Path, catalog: Catalog, item: str) -> Playbook:
    path = tmp_path / "book.yaml"
    path.write_text(f"duration: 2s\njobs:\n  - {item}\n")
    return load_playbook(path, catalog)


def test_every_events_job_has_buffer_pages(catalog):
    for name in catalog.names():
        spec = catalog.get(name)
        has_events = any(o["kind"] == "events" for o in spec.outputs)
        assert ("buffer_pages" in spec.params) == has_events, name


def test_buffer_pages_reaches_the_events_outputs(tmp_path, catalog):
    job = book(tmp_path, catalog, "{job: opensnoop, params: {buffer_pages: 256}}")
    (rendered,) = job.render(catalog)
    assert rendered.params["buffer_pages"] == 256
    assert [o["buffer_pages"] for o in rendered.outputs] == [256]
    (default,) = book(tmp_path, catalog, "{job: opensnoop}").render(catalog)
    assert default.outputs[0]["buffer_pages"] == 64


def test_buffer_pages_must_be_a_power_of_two(tmp_path, catalog):
    with pytest.raises(InputError) as err:
        book(tmp_path, catalog, "{job: biosnoop, params: {buffer_pages: 100}}")
    assert str(err.value) == (
        f"{tmp_path / 'book.yaml'}:3: param 'buffer_pages' of job 'biosnoop' must "
        "be a power of two (1, 2, 4, ... 16384), got 100")
    with pytest.raises(InputError, match="from 1 to 16384, got 0"):
        book(tmp_path, catalog, "{job: biosnoop, params: {buffer_pages: 0}}")


def test_histogram_jobs_have_no_buffer_pages(tmp_path, catalog):
    with pytest.raises(InputError, match="has no param 'buffer_pages'"):
        book(tmp_path, catalog, "{job: biolatency, params: {buffer_pages: 64}}")


def test_jobs_listing_shows_buffer_pages(catalog):
    assert "buffer_pages" in describe_job(catalog.get("execsnoop"))


def test_interval_marks_histogram_outputs(tmp_path, catalog):
    job = book(tmp_path, catalog, "{job: biolatency, interval: 500ms}")
    (rendered,) = job.render(catalog)
    assert [o["interval"] for o in rendered.outputs] == [0.5]
    (plain,) = book(tmp_path, catalog, "{job: biolatency}").render(catalog)
    assert plain.outputs[0]["interval"] is None


@pytest.mark.parametrize("item, message", [
    ("{job: opensnoop, interval: 1s}",
     "interval applies to jobs with a histogram output; job 'opensnoop' has none"),
    ("{job: biolatency, interval: 10ms}",
     "interval of job 'biolatency' must be at least 0.1s, got 0.01s"),
    ("{job: biolatency, interval: soon}", "interval must be a positive number"),
])
def test_bad_interval(tmp_path, catalog, item, message):
    with pytest.raises(InputError) as err:
        book(tmp_path, catalog, item)
    assert message in err.value.message
    assert (err.value.path, err.value.line) == (str(tmp_path / "book.yaml"), 3)


def test_trace_interval(catalog):
    playbook = Playbook.for_job(catalog, "runqlat", {}, interval="2s")
    assert playbook.render(catalog)[0].outputs[0]["interval"] == 2.0
    with pytest.raises(InputError, match="job 'execsnoop' has none"):
        Playbook.for_job(catalog, "execsnoop", {}, interval="2s")
