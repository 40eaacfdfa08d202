"""The validation sweep end to end, on the micro preset."""

import re

import torch

from lrsched.cli import main


def test_sweep_writes_every_part_of_the_report_and_reuses_finished_runs(tmp_path, capsys):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        args = ["harness", "sweep", "--preset", "micro", "--out", str(tmp_path), "--lrs",
                "0.004", "--seeds", "0", "--set", "steps=20", "--set", "eval_every=2"]
        assert main(args) == 0
        report = (tmp_path / "report.md").read_text()
        sections = report.split("\n## ")[1:]
        assert [s.partition(".")[0] for s in sections] == ["1", "2", "3", "4", "5"]
        for section in sections:  # each part has a table of losses, not a note
            table = [line for line in section.splitlines() if line.startswith("|")]
            assert any(set(line) <= set("|-") for line in table), section[:40]
            assert any(re.search(r"\| \d+\.\d{4} \|", line) for line in table), section[:40]
        assert "| linear:final=0 | 0.004 (grid edge) |" in report
        for picture in ("head_to_head", "refined", "laws", "continual", "autolrs"):
            assert (tmp_path / f"{picture}.png").is_file()
        runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
        assert len(runs) == 4 + 1 + 2  # the schedules, refined, continual
        assert not list(tmp_path.glob("runs/*/checkpoint.pt"))
        capsys.readouterr()
        assert main(args) == 0  # everything reused: no run trains again
        assert "[sweep]" not in capsys.readouterr().out
    finally:
        torch.set_num_threads(threads)
