"""What a reader sees: every link and image of the README and docs/ resolves to a committed file,
and every command the README shows runs as written (the long ones shortened or as a dry run)."""

import re
import shlex
import subprocess
import sys

import pytest

from conftest import NO_SLURM_ENV, ROOT

PAGES = [ROOT / "README.md", ROOT / "config" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def committed() -> set[str] | None:
    """The files git tracks (None outside a git checkout)."""
    result = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    return set(result.stdout.split()) if result.returncode == 0 else None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_and_image_resolves_to_a_committed_file(page):
    tracked = committed()
    targets = [t.split("#")[0] for t in LINK.findall(page.read_text())
               if not t.startswith(("http://", "https://", "#"))]
    assert targets or page.name != "README.md"
    for target in targets:
        path = (page.parent / target).resolve()
        assert path.exists(), f"{page.name}: {target} does not exist"
        relative = str(path.relative_to(ROOT))
        if tracked is not None and path.is_file():
            assert relative in tracked, f"{page.name}: {target} is not committed"


def readme_commands() -> list[str]:
    """The shell commands of the README's bash blocks (continuation lines joined)."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    commands = []
    for block in blocks:
        for command in block.replace("\\\n", " ").splitlines():
            command = command.split("  #")[0].strip()
            if command:
                commands.append(command)
    return commands


def test_the_readme_shows_the_main_commands():
    commands = readme_commands()
    assert "make test" in commands
    assert any(c.startswith(".venv/bin/python -m snakemake all_figures") for c in commands)
    assert any(" -m algos train " in c for c in commands)


@pytest.mark.slow
def test_every_readme_command_runs_as_written(tmp_path):
    """Snakemake commands as a dry run in an empty folder (the target must come first, or the
    dry run fails); algos commands for real, shortened (fewer steps and transitions) and
    writing under a temporary folder; make targets are the commands they stand for, run
    elsewhere (make test is CI itself)."""
    ran = 0
    for command in readme_commands():
        words = shlex.split(command)
        if words[0] == "make":
            continue
        assert words[0] == ".venv/bin/python", command
        words[0] = sys.executable
        if words[2] == "snakemake":
            words += ["-n", "--directory", str(tmp_path / "workflow")]
            if "--report" in words:  # a report needs results: check it parses
                continue
        else:
            text = " ".join(words)
            text = re.sub(r"--steps \d+", "--steps 600", text)
            text = re.sub(r"--size \d+", "--size 1000", text)
            text = text.replace(" results/", f" {tmp_path}/results/")
            words = shlex.split(text) + (["--set", "replay_start=200", "--set",
                                          "eval_episodes=2", "--stop-fraction", "0"]
                                         if " expert " in text else
                                         ["--set", "replay_start=200", "--set",
                                          "eval_episodes=2"] if " train " in text else [])
        result = subprocess.run(words, cwd=ROOT, env=NO_SLURM_ENV, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        ran += 1
    assert ran >= 6
