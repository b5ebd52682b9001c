"""Fleet reports: complete rows for every PC, valid documents even when a run is cut short."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pytest

from qbd_fix.errors import HostUnreachableError, UsageError
from qbd_fix.fleet.inventory import Target
from qbd_fix.fleet.report import CSV_COLUMNS, open_report
from qbd_fix.fleet.scheduler import FleetRun, HostReport, HostStatus
from qbd_fix.pipeline import Execution, Sinks
from qbd_fix.result import Status
from tests.test_fleet_scheduler import (
    FAST,
    Lab,
    hosts,
    lab_plan,
    mixed_lab,
    run_all,
    script_for,
    wait_until,
)

PASSWORD = "Tr0ub4dor&3-correct-horse"  # a value that must never be written


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_every_host_is_reported(tmp_path: Path, suffix: str) -> None:
    targets = hosts(24)
    lab, _kinds = mixed_lab(targets)
    path = tmp_path / "out" / f"fleet{suffix}"
    seen: list[HostReport] = []
    with open_report(
        path, run={"remediation": "restart-tasks", "what_if": False}, targets=targets
    ) as writer:

        def sink(report: HostReport) -> None:
            seen.append(report)
            writer.write(report)

        assert not path.exists(), "the report appears only when complete"
        summary = run_all(targets, lab.runner, script_for, backoff=FAST, sink=sink)
        writer.close(summary)
    assert path.exists() and not list(path.parent.glob(".*.part"))
    by_host = {r.host: r for r in seen}

    if suffix == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["run"]["remediation"] == "restart-tasks" and doc["run"]["started_at"]
        assert len(doc["hosts"]) == 24
        for row in doc["hosts"]:
            report = by_host[row["host"]]
            assert row == {**json.loads(json.dumps(report.to_dict())), "mismatch": None}
            if report.status is HostStatus.UNREACHABLE:
                assert row["error"]["kind"] == "unreachable" and row["error"]["exit_code"] == 10
                assert row["result"] is None
        assert (
            doc["summary"]["counts"]["unreachable"] == summary.counts[HostStatus.UNREACHABLE] == 4
        )
        assert doc["summary"]["exit_code"] == summary.exit_code == 1
        assert doc["summary"]["total"] == doc["summary"]["done"] == 24
        assert doc["summary"]["interrupted"] is False
    else:
        rows = read_csv(path)
        assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 24
        for row in rows:
            report = by_host[row["host"]]
            assert row["status"] == report.status.value
            assert row["client"] == report.client_name
            assert row["exit_code"] == str(report.exit_code)
            assert row["script_sha256"] == report.script_sha256 and len(row["script_sha256"]) == 64
            assert row["remediation"] == "restart-tasks"
            if report.error:
                assert (
                    row["error"] == report.error.message and row["error_kind"] == report.error.kind
                )
                assert row["result_json"] == ""
            else:
                assert json.loads(row["result_json"]) == report.result
                assert row["summary"] == report.result["messages"][0]  # type: ignore[index]


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_stopped_run_still_gives_a_valid_document(tmp_path: Path, suffix: str) -> None:
    gate = threading.Event()
    targets = hosts(10)
    lab = Lab(answers={t.host: [lambda: gate.wait(5) and (Status.OK, "ok")] for t in targets})
    path = tmp_path / f"fleet{suffix}"
    try:
        with open_report(path, run={"remediation": "restart-tasks"}, targets=targets) as writer:
            fleet = FleetRun(targets, lab.runner, script_for, concurrency=2, sink=writer.write)
            thread = threading.Thread(target=fleet.run, daemon=True)
            thread.start()
            wait_until(lambda: lab.in_flight == 2)
            fleet.stop()
            fleet.stop()
            thread.join(2)
            assert not thread.is_alive()
            writer.close(fleet.summary)
    finally:
        gate.set()
    if suffix == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        statuses = [h["status"] for h in doc["hosts"]]
        assert doc["summary"]["interrupted"] is True and doc["summary"]["cancelled"] is True
    else:
        statuses = [row["status"] for row in read_csv(path)]
    assert sorted(statuses) == ["cancelled"] * 2 + ["not_run"] * 8


def test_interrupted_writer_marks_unreported_hosts_not_run(tmp_path: Path) -> None:
    targets = hosts(5)
    path = tmp_path / "fleet.json"

    def cut_short() -> None:
        with open_report(path, targets=targets) as writer:
            writer.write(
                HostReport(
                    "PC000", None, "Client 0", "g", "restart-tasks", HostStatus.OK, "ok", 0.1, 1, 0
                )
            )
            raise RuntimeError("the terminal went away")

    with pytest.raises(RuntimeError):
        cut_short()
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert [h["status"] for h in doc["hosts"]] == ["ok"] + ["not_run"] * 4
    assert doc["hosts"][1]["error"]["kind"] == "not_run"
    assert doc["summary"]["interrupted"] is True and doc["summary"]["exit_code"] == 1


def test_unknown_extension_and_folder_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"use a \.json or \.csv"):
        open_report(tmp_path / "fleet.xlsx")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(UsageError, match="is a folder"):
        open_report(tmp_path / "dir.json")


def test_csv_cells_cannot_become_formulas(tmp_path: Path) -> None:
    target = Target(host="PC01", client_name='=HYPERLINK("http://x","y")')
    path = tmp_path / "fleet.csv"
    with open_report(path, targets=[target]) as writer:
        writer.close(run_all([target], Lab().runner, script_for, sink=writer.write))
    (row,) = read_csv(path)
    assert row["client"] == "'" + target.client_name  # type: ignore[operator]


def test_no_password_in_any_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_PW", PASSWORD)
    targets = [Target(host=f"PC{i}", client_name="Acme", password_env="ACME_PW") for i in range(4)]
    leaky_error = HostUnreachableError(f"lost PC (auth blob {PASSWORD})", hint=f"try {PASSWORD}")
    lab = Lab(
        answers={
            "PC0": [(Status.OK, f"echoed {PASSWORD} by a careless library")],
            "PC1": [leaky_error],
        }
    )
    outputs = [tmp_path / "fleet.json", tmp_path / "fleet.csv"]
    writers = [
        open_report(p, run={"remediation": "restart-tasks", "password": PASSWORD}, targets=targets)
        for p in outputs
    ]

    def sink(report: HostReport) -> None:
        for writer in writers:
            writer.write(report)

    # the plan reads each password variable; the run keeps every value it read out of reports
    execution = Execution(lab_plan(targets, lab), Sinks(on_report=sink))
    summary = execution.run()
    for writer in writers:
        writer.close(summary)
    for path in outputs:
        text = path.read_text(encoding="utf-8-sig")
        assert PASSWORD not in text and "***" in text
