"""The `record`, `calibrate` and `drift` commands, and what `serve --replay/--calibration`
read: the record layer's command-line face (mock_kling.cli adds them)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mock_kling.core.calibration import Calibration
from mock_kling.core.config import Config
from mock_kling.core.profiles import PROFILES
from mock_kling.record.calibrate import calibrate as derive
from mock_kling.record.cassette import Cassette
from mock_kling.record.drift import drift as drift_report
from mock_kling.record.proxy import RecordingProxy
from mock_kling.record.replay import Replay
from mock_kling.record.server import LoopbackServer

_FILE = click.Path(dir_okay=False, path_type=Path)
_EXISTING = click.Path(dir_okay=False, exists=True, path_type=Path)


def load_calibration(path: Path) -> Calibration:
    """A calibration file written by `mock-kling calibrate`."""
    try:
        return Calibration.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, AttributeError, TypeError) as exc:
        raise click.BadParameter(f"{path}: not a calibration file ({exc})") from None


def load_cassette(path: Path) -> Cassette:
    try:
        return Cassette.load(path)
    except (ValueError, KeyError, TypeError) as exc:
        raise click.BadParameter(f"{path}: not a VCR cassette ({exc})") from None


def serve_replay(path: Path, host: str, port: int) -> None:
    """Answer a cassette's exchanges in order until Ctrl-C (`serve --replay`)."""
    replay = Replay(load_cassette(path).interactions)
    server = LoopbackServer(replay, host, port)
    click.echo(
        f"mock-kling replaying {path} on {server.url}",
    )
    server.serve_forever()


@click.command()
@click.option(
    "--upstream", required=True, help="Base URL of the API to record (Kling, a reseller)."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, help="0 picks a free port.")
@click.option("--cassette", type=_FILE, default=Path("kling.yaml"), show_default=True)
def record(upstream: str, host: str, port: int, cassette: Path) -> None:
    """Run a recording proxy: forwards to --upstream, writes every exchange to the cassette."""
    proxy = RecordingProxy(upstream, Cassette(cassette))
    server = LoopbackServer(proxy, host, port)
    proxy.public_url = server.url
    click.echo(f"mock-kling recording {upstream} on {server.url} into {cassette}")
    server.serve_forever()


@click.command()
@click.argument("cassette", type=_EXISTING)
@click.option("-o", "--output", type=_FILE, help="Write the calibration here (default: stdout).")
def calibrate(cassette: Path, output: Path | None) -> None:
    """Derive the fake's timings, failures and observed answers from a recording."""
    text = json.dumps(derive(load_cassette(cassette).interactions), indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"calibration written to {output}")


@click.command()
@click.argument("cassette", type=_EXISTING)
@click.option("--profile", type=click.Choice(list(PROFILES)), default="official", show_default=True)
@click.option("--calibration", type=_EXISTING, help="Compare with a calibrated fake.")
@click.option("--seed", type=int, default=0, show_default=True)
def drift(cassette: Path, profile: str, calibration: Path | None, seed: int) -> None:
    """Compare a recording with the contracts and the fake; exit 1 when they differ."""
    calibrated = load_calibration(calibration) if calibration else None
    config = Config(seed=seed, profile=profile, calibration=calibrated)
    report = drift_report(load_cassette(cassette).interactions, config)
    click.echo(report.text())
    raise SystemExit(1 if report.differences else 0)
