"""Evaluation metrics: coverage, global and local diversity (GANimator's definitions), foot skating, jitter and
reconstruction error. numpy only (no torch), vectorised over frames.

``evaluate(samples, references)`` scores motions; the windowed metrics are also exposed on feature arrays
(:func:`coverage`, :func:`local_diversity`, :func:`global_diversity`, :func:`feature_metrics`) so they can be
checked without kinematics. Features: :func:`motion_features`; two sets, ``fair`` (heading removed, yaw rate added;
the default) and ``literal`` (GANimator's, with the heading), both reported by :func:`evaluate` (see :mod:`.features`).
"""
from .coverage import THRESHOLD as COVERAGE_THRESHOLD, WINDOW as COVERAGE_WINDOW, coverage, plausible
from .distance import frame_distances, window_sums
from .diversity import (LOCAL_WINDOW, SEGMENT_MIN, Segment, global_diversity, local_diversity,
                        nearest_window_distances)
from .evaluation import evaluate, feature_metrics
from .features import (FEATURE_SETS, FEATURE_SIZE, LITERAL_FEATURE_SIZE, YAW_RATE_SECONDS, feature_set,
                       motion_features, remove_heading, yaw_rate)
from .realism import foot_skating, foot_skating_joints, jitter, jitter_joints
from .reconstruction import reconstruction_error

__all__ = [
    "evaluate", "feature_metrics", "motion_features", "coverage", "plausible", "local_diversity", "nearest_window_distances",
    "global_diversity", "Segment",
    "foot_skating", "jitter", "foot_skating_joints", "jitter_joints", "reconstruction_error", "frame_distances",
    "window_sums", "remove_heading", "yaw_rate", "feature_set", "FEATURE_SETS", "FEATURE_SIZE", "LITERAL_FEATURE_SIZE",
    "YAW_RATE_SECONDS", "COVERAGE_WINDOW", "COVERAGE_THRESHOLD", "LOCAL_WINDOW",
    "SEGMENT_MIN",
]
