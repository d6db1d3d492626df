"""Runs the code blocks of a Markdown page as a reader would: in order, in one folder.

`sh` blocks: `pip install` lines are checked against pyproject's extras, not run (the test's
venv is the installed result); `mock-kling serve` and `mock-kling record` lines (and any line
ending in `&`) start in the background on port 0, and later blocks reach them where the page says
`127.0.0.1:PORT`; the other lines of a block run in one `bash -e -o pipefail`. `python` blocks
that open with `# test_x.py` are saved under that name and run by pytest (the mock_kling plugin
loads by its entry point); other python blocks run as scripts with `KLING_BASE_URL` set. A page
that names 127.0.0.1:8000 without starting a server there gets a `mock-kling serve --port 0`;
one that names Redis at 127.0.0.1:6379 gets a real redis-server on a free port.

A block whose first line is `# illustrative: REASON` is not run (real credentials, paid tasks);
one whose first line is `# in the checkout` runs in the repository's root instead of the folder.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
ILLUSTRATIVE = "# illustrative:"
IN_CHECKOUT = "# in the checkout"  # a block about this repository runs in its root
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", flags=re.S | re.M)
BANNER_URL = re.compile(
    r"(?:listening on|(?:recording|replaying) \S+ on) (http://127\.0\.0\.1:\d+)"
)
START_SECONDS = 60.0
BLOCK_SECONDS = 300.0
DEFAULT_PORTS = {"serve": 8000, "record": 8001}
LONG_RUNNING = (["mock-kling", "serve"], ["mock-kling", "record"])
EXTRAS = set(
    tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
)


@dataclass
class Block:
    page: str
    language: str  # "python" or "sh"
    code: str

    @property
    def illustrative(self) -> bool:
        return self.code.lstrip().startswith(ILLUSTRATIVE)

    @property
    def test_file(self) -> str | None:
        match = re.match(r"# (test_\w+\.py)\n", self.code)
        return match.group(1) if match else None


def pages() -> list[Path]:
    """README.md and every page of the site (drafts are not part of it)."""
    docs = sorted(p for p in (ROOT / "docs").rglob("*.md") if "drafts" not in p.parts)
    return [ROOT / "README.md", *docs]


def blocks(page: Path) -> list[Block]:
    """The page's python and sh blocks, in order (text and console output are not code)."""
    name = str(page.relative_to(ROOT))
    found = []
    for language, code in BLOCK.findall(page.read_text(encoding="utf-8")):
        language = {"bash": "sh", "shell": "sh", "py": "python"}.get(language, language)
        if language in {"python", "sh"}:
            found.append(Block(name, language, code))
    return found


class _Background:
    """A long-running command of a page, its output collected by a thread."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.argv = argv
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.url: str | None = None
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            match = BANNER_URL.search(line)
            if match and self.url is None:
                self.url = match.group(1)
                self.ready.set()
        self.ready.set()  # it ended

    def wait_url(self) -> str:
        self.ready.wait(START_SECONDS)
        if self.url is None:
            raise AssertionError(f"{shlex.join(self.argv)} did not start:\n{''.join(self.lines)}")
        return self.url

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.reader.join(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class PageRun:
    """One page's blocks run in order in `folder`; `stop()` ends what they started."""

    folder: Path
    urls: dict[int, str] = field(default_factory=dict)  # the port a page names -> the real URL
    background: list[_Background] = field(default_factory=list)
    redis: RedisServer | None = None
    outputs: list[str] = field(default_factory=list)
    counter: int = 0

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "CI": ""}
        env.pop("KLING_BASE_URL", None)
        if 8000 in self.urls:
            env["KLING_BASE_URL"] = self.urls[8000]
        return env

    def run(self, block: Block, later: list[Block] | None = None) -> str:
        """Run `block`; `later` (the page's blocks after it) tells whether the page itself runs a
        test file it shows (then it is only saved)."""
        if block.illustrative:
            return ""
        name = block.test_file
        if name is not None and any(name in b.code for b in later or []):
            (self.folder / name).write_text(block.code, encoding="utf-8")
            return ""
        output = self._python(block) if block.language == "python" else self._sh(block)
        self.outputs.append(output)
        return output

    def stop(self) -> None:
        for process in reversed(self.background):
            process.stop()
        if self.redis is not None:
            self.redis.stop()

    # --- addresses ------------------------------------------------------------------------------

    def _resolve(self, text: str) -> str:
        """The page's 127.0.0.1:PORT addresses (and Redis's) replaced by the real ones."""
        if "127.0.0.1:6379" in text:
            if self.redis is None:
                self.redis = RedisServer(self.folder)
                self.redis.start()
            text = text.replace("127.0.0.1:6379", f"127.0.0.1:{self.redis.port}")
        for port in sorted({int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", text)}):
            if port == 0 or (self.redis is not None and port == self.redis.port):
                continue
            if port not in self.urls:
                if port != 8000:
                    raise AssertionError(f"the page names 127.0.0.1:{port}, which nothing serves")
                self._start(["mock-kling", "serve", "--port", "8000"])
            real = self.urls[port].removeprefix("http://")
            text = re.sub(rf"127\.0\.0\.1:{port}(?!\d)", real, text)
        return text

    def _start(self, words: list[str]) -> None:
        env = self.env
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        argv = [word.replace("0.0.0.0", "127.0.0.1") for word in words]
        kind = argv[1] if len(argv) > 1 else ""
        port = DEFAULT_PORTS.get(kind)
        if "--port" in argv:
            at = argv.index("--port") + 1
            port, argv[at] = int(argv[at]), "0"
        else:
            argv += ["--port", "0"]
        process = _Background(argv, env, self.folder)
        self.background.append(process)
        url = process.wait_url()
        if port is not None:
            self.urls[port] = url

    # --- blocks ---------------------------------------------------------------------------------

    def _sh(self, block: Block) -> str:
        """Foreground lines run together up to each background line, which then starts."""
        script: list[str] = []
        output = ""
        for line in _logical_lines(block.code):
            words = shlex.split(line, comments=True)
            if not words:
                continue
            if words[:2] == ["pip", "install"]:
                _check_install(line)
                continue
            command = [w for w in words if not re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", w)]
            if words[-1] == "&" or command[:2] in LONG_RUNNING:
                output += self._script(script, block)
                script = []
                self._start(shlex.split(self._resolve(shlex.join(w for w in words if w != "&"))))
                continue
            script.append(line)
        return output + self._script(script, block)

    def _script(self, lines: list[str], block: Block) -> str:
        if not lines:
            return ""
        code = self._resolve("\n".join(lines))
        return self._call(["bash", "-e", "-o", "pipefail", "-c", code], block)

    def _python(self, block: Block) -> str:
        name = block.test_file
        if name is not None:
            (self.folder / name).write_text(block.code, encoding="utf-8")
            argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name]
            return self._call(argv, block)
        self.counter += 1
        script = self.folder / f"example_{self.counter}.py"
        code = self._resolve(block.code)
        if "KLING_BASE_URL" in code:
            self._resolve("127.0.0.1:8000")  # the server the script's default names
        script.write_text(code, encoding="utf-8")
        return self._call([sys.executable, str(script)], block)

    def _call(self, argv: list[str], block: Block) -> str:
        try:
            done = subprocess.run(
                argv,
                cwd=ROOT if block.code.startswith(IN_CHECKOUT) else self.folder,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=BLOCK_SECONDS,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{block.page}: a block ran over {BLOCK_SECONDS} s") from exc
        if done.returncode != 0:
            raise AssertionError(
                f"{block.page}: this {block.language} block exited {done.returncode}:\n"
                f"{block.code}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n"
                f"{done.stderr[-4000:]}"
            )
        return done.stdout


def _logical_lines(code: str) -> list[str]:
    """Lines with their `\\` continuations joined."""
    return [line for line in code.replace("\\\n", " ").splitlines() if line.strip()]


def _check_install(line: str) -> None:
    """A `pip install` line names only extras pyproject.toml has."""
    for group in re.findall(r"\[([a-z,\s-]+)\]", line):
        for extra in (e.strip() for e in group.split(",")):
            assert extra in EXTRAS, f"{line!r} names the extra {extra!r}; pyproject has {EXTRAS}"
