"""The result videos: a pure-Python H.264/MP4 writer."""
