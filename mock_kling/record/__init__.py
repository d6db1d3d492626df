"""Recorded real traffic: a recording proxy, calibration of the fake, replay and drift reports."""
