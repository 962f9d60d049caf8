"""The demo device usage."""
