"""Serves result videos: a real MP4 of the task's duration and frame size, no auth."""

from __future__ import annotations

import functools

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from mock_kling.core.errors import KlingError
from mock_kling.http.context import current_backend
from mock_kling.media.video import render_mp4

blueprint = Blueprint("media", __name__)


@blueprint.get("/<name>.mp4")
def video(name: str) -> ResponseReturnValue:
    video_id = name.removesuffix("-watermark")
    backend = current_backend()
    task = backend.find_video(video_id)
    if task is None:
        raise KlingError(1203, f"video {video_id!r} does not exist or has expired")
    width, height = task.request.frame_size
    data = _mp4(width, height, float(task.request.duration))
    response = Response(data, mimetype="video/mp4")
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))


@functools.lru_cache(maxsize=16)
def _mp4(width: int, height: int, seconds: float) -> bytes:
    return render_mp4(width, height, seconds)
