"""The validation sweep end to end, on the micro preset."""

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
        for part in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5."):
            assert part in report
        assert "not available" not in report.lower()
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
