"""Datasets and downloads: Kinetics (annotations, streamed partial downloads, whole parts) and own video
folders. Never imports widget code."""

from vidwidget._http import RetryPolicy
from vidwidget.data.annotations import read_annotations
from vidwidget.data.clip_ids import ClipId, make_clip_id, parse_clip_id
from vidwidget.data.download import check_free_space, download_file, stream_extract
from vidwidget.data.extract import ExtractReport, safe_extract_members
from vidwidget.data.folder import VIDEO_EXTENSIONS, VideoFolder, is_video_file
from vidwidget.data.kinetics import KineticsDataset, normalize_version
from vidwidget.data.progress import ProgressEvent

__all__ = [
    "VIDEO_EXTENSIONS",
    "ClipId",
    "ExtractReport",
    "KineticsDataset",
    "ProgressEvent",
    "RetryPolicy",
    "VideoFolder",
    "check_free_space",
    "download_file",
    "is_video_file",
    "make_clip_id",
    "normalize_version",
    "parse_clip_id",
    "read_annotations",
    "safe_extract_members",
    "stream_extract",
]
