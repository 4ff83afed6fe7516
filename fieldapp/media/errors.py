"""Refusals of the photo intake: a stable code plus a message in Chinese (default) and English.

A refusal means nothing was stored; the message tells the person at the phone (or support staff
running ``photos inspect``) what is wrong and what to do about it.
"""
from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "empty": (
        "文件是空的（0 字节），不是照片。请重新拍摄或重新选择照片。",
        "The file is empty (0 bytes), not a photo. Take the photo again or pick another file.",
    ),
    "not_an_image": (
        "这个文件不是图片，无法作为现场照片。请选择相机拍摄的 JPEG 照片。",
        "This file is not an image and cannot be used as a site photo. Pick a JPEG photo from the camera.",
    ),
    "not_jpeg": (
        "只接受 JPEG 照片（或 iPhone 的 HEIC 照片）。PNG、GIF、WebP 等格式（截图、聊天软件转发的图片）不能作为现场照片，请用相机直接拍摄。",
        "Only JPEG photos (or iPhone HEIC photos) are accepted. PNG, GIF, WebP and similar files "
        "(screenshots, images forwarded by chat apps) cannot be site photos; take the photo with the camera.",
    ),
    "heic_unsupported": (
        "这台设备无法转换 HEIC 格式的照片。请在 iPhone 的「设置 > 相机 > 格式」中选择「兼容性最佳」（JPEG）后重新拍摄。",
        "HEIC photos cannot be converted on this device. On the iPhone choose Settings > Camera > "
        "Formats > Most Compatible (JPEG) and take the photo again.",
    ),
    "heic_unreadable": (
        "这张 HEIC 照片已损坏，无法读取。请重新拍摄。",
        "This HEIC photo is damaged and cannot be read. Take the photo again.",
    ),
    "truncated": (
        "照片文件不完整（可能没有拷贝完或传输中断），大部分画面已丢失，无法修复。请重新拍摄或重新拷贝。",
        "The photo file is incomplete (copy or transfer interrupted); most of the picture is lost "
        "and cannot be repaired. Take the photo again or copy it again.",
    ),
    "corrupt": (
        "照片文件已损坏，无法解码。请重新拍摄。",
        "The photo file is damaged and cannot be decoded. Take the photo again.",
    ),
    "too_many_pixels": (
        "照片像素过多（{pixels} 像素，上限 {limit} 像素），可能是恶意文件。请用相机正常分辨率拍摄。",
        "The photo has too many pixels ({pixels}, the limit is {limit}); it may be a malicious file. "
        "Use the camera's normal resolution.",
    ),
    "too_large": (
        "照片文件太大（超过 {limit_mib} MiB）。请用相机正常画质拍摄。",
        "The photo file is too large (more than {limit_mib} MiB). Use the camera's normal quality setting.",
    ),
    "not_a_file": (
        "找不到这个文件，或者它不是普通文件（例如是文件夹）。",
        "The file does not exist or is not a regular file (for example a folder).",
    ),
    "unreadable": (
        "无法读取这个文件（{detail}）。",
        "The file cannot be read ({detail}).",
    ),
    "timeout": (
        "处理这个文件超时（超过 {seconds} 秒），已放弃。",
        "Processing this file took too long (more than {seconds} s) and was abandoned.",
    ),
}


class IntakeRefused(Exception):
    """The photo was refused; nothing was stored.

    ``code`` is stable (tests, logs, the inspect command's ``error_code``); ``message(lang)`` is
    what a person reads, ``lang`` being ``"zh"`` (default) or ``"en"``.
    """

    def __init__(self, code: str, **params: object) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown refusal code {code!r}")
        self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        zh, en = MESSAGES[self.code]
        template = en if lang == "en" else zh
        return template.format(**self.params)
