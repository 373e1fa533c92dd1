"""The calibration's report: text for the installer (Chinese or English, ``LINLI_LOCALE``),
a YAML snippet to paste into the camera's section, and a picture of the proposal."""

from __future__ import annotations

import math

import cv2
import numpy as np

from edge.camera.calibrate import Proposal, SizeFit
from edge.camera.vision.geometry import CountingGeometry
from edge.camera.vision.overlay import draw_overlay
from linli.i18n import Catalog

TEXT = Catalog({
    "title": {"zh-CN": "摄像头 {device} 标定：{seconds:.0f} 秒，读取 {read} 帧，处理 {done} 帧",
              "en": "Calibration of camera {device}: {seconds:.0f} s, {read} frames read, "
                    "{done} processed"},
    "size": {"zh-CN": "人体尺寸（{frame} 像素）：沿计数线宽 {w:.0f}，垂直于线长 {l:.0f}"
                      "（{n} 条单人轨迹、{s} 个样本；离散度 宽 {sw:.0%} 长 {sl:.0%}；"
                      "{o:.0%} 的目标不是单人：多人、影子或碎片）",
             "en": "Person size ({frame} px): {w:.0f} wide along the line, {l:.0f} long across "
                   "it ({n} single-person tracks, {s} samples; spread width {sw:.0%}, length "
                   "{sl:.0%}; {o:.0%} of blobs were not one person: groups, shadows, fragments)"},
    "no_size": {"zh-CN": "人体尺寸：样本不足，无法估计（保留当前配置）",
                "en": "Person size: too few samples to measure (current values kept)"},
    "perspective": {
        "zh-CN": "  透视：远处（y≈{yf:.0f}）{wf:.0f}×{lf:.0f}，近处（y≈{yn:.0f}）{wn:.0f}×{ln:.0f}；"
                 "计数器只用一个尺寸，建议值取计数线处（y≈{yl:.0f}）",
        "en": "  Perspective: far (y≈{yf:.0f}) {wf:.0f}x{lf:.0f}, near (y≈{yn:.0f}) "
              "{wn:.0f}x{ln:.0f}; the counter takes one size: the proposal is the one at the "
              "line (y≈{yl:.0f})"},
    "no_perspective": {"zh-CN": "  画面上下尺寸一致（无明显透视）",
                       "en": "  Same size across the picture (no evident perspective)"},
    "crossed": {"zh-CN": "计数线：{moving} 条移动轨迹中 {crossed} 条越过计数线（进 {cin}，出 {cout}）",
                "en": "Line: {crossed} of {moving} moving tracks crossed it (in {cin}, out {cout})"},
    "zone": {"zh-CN": "计数区域：{crossed} 条轨迹越过边界（进 {cin}，出 {cout}）",
             "en": "Zone: {crossed} tracks crossed its boundary (in {cin}, out {cout})"},
    "angle": {"zh-CN": "  主要行走方向与计数线法线夹角 {deg:.0f}°（0° = 垂直穿过；一致度 {c:.2f}）",
              "en": "  Main direction of motion is {deg:.0f}° from the line's normal "
                    "(0° = straight across; agreement {c:.2f})"},
    "room": {"zh-CN": "  计数线两侧到画面边缘至少 {room:.0f} 像素（需要 ≥ {need:.0f}：迟滞带加一人长）",
             "en": "  Room between the line and the frame's edge, across it: {room:.0f} px at "
                   "least (needs ≥ {need:.0f}: the band plus one person's length)"},
    "traffic": {"zh-CN": "  多数人走向“{side}”一侧（仅供参考：哪侧为“进”由安装人员决定）",
                "en": "  Most people went towards the '{side}' side (information only: which "
                      "side is 'in' is yours to choose)"},
    "side.in": {"zh-CN": "进", "en": "in"},
    "side.out": {"zh-CN": "出", "en": "out"},
    "side.even": {"zh-CN": "  两个方向人数相当", "en": "  As many people went each way"},
    "fps": {"zh-CN": "帧率：视频源 {src:.1f} fps，配置上限 {cap:g} fps，实际处理 {done:.1f} fps；"
                     "两帧之间人最多移动约 {step} 像素（跟踪门限 gate_px {gate:g}）",
            "en": "Frame rate: the source gives {src:.1f} fps, the configured cap is {cap:g}, "
                  "{done:.1f} fps were processed; people move up to ~{step} px between two "
                  "processed frames (tracker gate_px {gate:g})"},
    "speed": {"zh-CN": "  处理速度 {fps:.0f} 帧/CPU 秒（仅供参考）",
              "en": "  Processing speed {fps:.0f} frames per CPU-second (information)"},
    "light": {"zh-CN": "光照：平均亮度 {mean:.0f}/255（{lo:.0f}–{hi:.0f}，波动 {cv:.1%}），"
                       "突变 {steps} 次，背景重建 {relearned} 次",
              "en": "Lighting: mean brightness {mean:.0f}/255 ({lo:.0f}–{hi:.0f}, variation "
                    "{cv:.1%}); sudden steps: {steps}, background rebuilds: {relearned}"},
    "step": {"zh-CN": "  {t:.1f} 秒：亮度 {change:+.0%}", "en": "  at {t:.1f} s: brightness {change:+.0%}"},
    "yaml": {"zh-CN": "建议配置（粘贴到该摄像头的配置中）：",
             "en": "Proposed configuration (paste into the camera's section):"},
    "unsure": {"zh-CN": "不确定之处：", "en": "What this is unsure of:"},
    "sure": {"zh-CN": "未发现明显问题。", "en": "Nothing looks doubtful."},
    "u.few_tracks": {"zh-CN": "- 单人轨迹太少（{n} 条，至少需要 {min}）：尺寸只是估计，"
                              "请录制更长、人更多的视频",
                     "en": "- too few single-person tracks ({n}, {min} wanted): the size is a "
                           "guess; record longer, with more people walking through"},
    "u.spread": {"zh-CN": "- 尺寸离散度过大：人大小不一，或检测到的不全是人（影子、推车）",
                 "en": "- the sizes spread widely: people of very different sizes, or blobs "
                       "that are not people (shadows, trolleys)"},
    "u.outliers": {"zh-CN": "- 很多目标不是单人（{o:.0%}）：人群密集或影子较重，尺寸可能偏差",
                   "en": "- many blobs were not one person ({o:.0%}): crowds or heavy shadows; "
                         "the size may be off"},
    "u.rarely_crossed": {"zh-CN": "- 计数线很少被越过（{n} 次）：检查计数线是否在人经过的位置",
                         "en": "- the line was rarely crossed ({n} times): is it where people "
                               "walk through?"},
    "u.angle": {"zh-CN": "- 行走方向与计数线法线夹角 {deg:.0f}°：计数线应横切人流，请旋转计数线",
                "en": "- people walk {deg:.0f}° off the line's normal: the line should cut "
                      "across the flow; turn it"},
    "u.no_direction": {"zh-CN": "- 轨迹方向杂乱，没有主要行走方向",
                       "en": "- the tracks go every way: there is no main direction of motion"},
    "u.edge": {"zh-CN": "- 计数线离画面边缘太近：越线前后的人不完整，请把线移向画面中部",
               "en": "- the line is too close to the frame's edge: people are cut off before "
                     "or after crossing; move it towards the middle"},
    "u.fast": {"zh-CN": "- 两帧之间人移动过远：提高 fps，或加大 vision.gate_px",
               "en": "- people move far between two frames: raise fps or vision.gate_px"},
    "u.lighting": {"zh-CN": "- 光照突变 {steps} 次（自动曝光或开关灯），背景重建 {relearned} 次："
                            "这段时间的计数可能受影响",
                   "en": "- sudden lighting steps (auto-exposure or lights): {steps}, "
                         "background rebuilds: {relearned}; counts around then may suffer"},
    "u.perspective": {"zh-CN": "- 有透视：远近人体尺寸不同，建议值只在计数线附近准确",
                      "en": "- perspective: people differ in size near and far; the proposed "
                            "size holds near the line"},
    "png": {"zh-CN": "图片：{path}（计数线、“进”方向箭头、建议人体框、轨迹）",
            "en": "Picture: {path} (line, arrow to the in side, the proposed person box, "
                  "the tracks)"},
})

PATH_IN = (0, 200, 0)
PATH_OUT = (0, 0, 220)
PATH_OTHER = (200, 200, 200)
BOX = (255, 0, 255)


def yaml_snippet(proposal: Proposal) -> str:
    """The camera section's lines to paste: sizes (and the blob noise floor) under
    ``vision``; the fps cap when the source gives less."""
    lines: list[str] = []
    if proposal.source_fps and proposal.source_fps < proposal.fps_cap:
        lines.append(f"fps: {math.floor(proposal.source_fps)}   # the source gives no more")
    vision: list[str] = []
    if proposal.width is not None and proposal.length is not None:
        vision.append(f"  person_width_px: {round(proposal.width.at_line)}")
        vision.append(f"  person_length_px: {round(proposal.length.at_line)}")
    area = proposal.min_blob_area
    if area is not None:
        vision.append(f"  min_blob_area_px: {round(area, -1):.0f}")
    if vision:
        lines.append("vision:")
        lines.extend(vision)
    return "\n".join(lines)


def text_report(proposal: Proposal, device: str, locale: str | None,
                picture: str | None = None) -> str:
    """The readable report, ending with the YAML snippet and what it is unsure of."""
    p = proposal
    out = [TEXT("title", locale, device=device, seconds=p.seconds, read=p.frames_read,
                done=p.frames_processed)]
    fw, fh = p.counting.frame_size
    if p.width is not None and p.length is not None:
        out.append(TEXT("size", locale, frame=f"{fw}x{fh}", w=p.width.at_line, l=p.length.at_line,
                        n=p.size_tracks, s=p.samples, sw=p.width.spread, sl=p.length.spread,
                        o=p.outliers))
        if p.width.perspective or p.length.perspective:
            far, near = _ends(p.width, p.length)
            out.append(TEXT("perspective", locale, yf=far, yn=near, wf=p.width.at(far),
                            lf=p.length.at(far), wn=p.width.at(near), ln=p.length.at(near),
                            yl=p.width.y_ref))
        else:
            out.append(TEXT("no_perspective", locale))
    else:
        out.append(TEXT("no_size", locale))
    if p.counting.line is not None:
        out.append(TEXT("crossed", locale, crossed=p.crossed_tracks, moving=p.moving_tracks,
                        cin=p.crossings_in, cout=p.crossings_out))
        if p.motion_deg is not None:
            out.append(TEXT("angle", locale, deg=p.motion_deg, c=p.coherence))
        if p.edge_room is not None and p.room_needed is not None:
            out.append(TEXT("room", locale, room=p.edge_room, need=p.room_needed))
    else:
        out.append(TEXT("zone", locale, crossed=p.crossed_tracks, cin=p.crossings_in,
                        cout=p.crossings_out))
    if p.crossings_in != p.crossings_out:
        side = "side.in" if p.crossings_in > p.crossings_out else "side.out"
        out.append(TEXT("traffic", locale, side=TEXT(side, locale)))
    elif p.crossings_in:
        out.append(TEXT("side.even", locale))
    step = "?" if p.px_per_frame is None else f"{p.px_per_frame:.0f}"
    out.append(TEXT("fps", locale, src=p.source_fps, cap=p.fps_cap, done=p.processed_fps,
                    step=step, gate=p.params.gate_px))
    if p.frames_per_cpu_s is not None:
        out.append(TEXT("speed", locale, fps=p.frames_per_cpu_s))
    out.append(TEXT("light", locale, mean=p.brightness_mean, lo=p.brightness_range[0],
                    hi=p.brightness_range[1], cv=p.brightness_cv, steps=len(p.steps),
                    relearned=p.relearned))
    out.extend(TEXT("step", locale, t=t, change=change) for t, change in p.steps[:8])
    snippet = yaml_snippet(p)
    if snippet:
        out += ["", TEXT("yaml", locale), "", snippet, ""]
    out.append(TEXT("unsure", locale) if p.unsure else TEXT("sure", locale))
    for key in p.unsure:
        out.append(TEXT(f"u.{key}", locale, n=p.size_tracks if key == "few_tracks"
                        else p.crossed_tracks, min=5, o=p.outliers, deg=p.motion_deg or 0.0,
                        steps=len(p.steps), relearned=p.relearned))
    if picture:
        out.append(TEXT("png", locale, path=picture))
    return "\n".join(out)


def _ends(width: SizeFit, length: SizeFit) -> tuple[float, float]:
    fit = width if width.perspective else length
    return fit.y_far, fit.y_near


def draw(proposal: Proposal, frame: np.ndarray) -> np.ndarray:
    """``frame`` with the tracks' paths (faint: green crossed in, red out, grey the rest),
    the line, its band and the "in" arrow, and the proposed person box at the line (and at
    the far and near ends when there is perspective)."""
    p = proposal
    height, width = frame.shape[:2]
    fw, fh = p.counting.frame_size
    sx, sy = width / fw, height / fh
    image = frame.copy() if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    paths = image.copy()
    for track, points in p.paths.items():
        if len(points) < 2:
            continue
        colour = PATH_OTHER
        if track in p.crossed:
            colour = _direction_colour(p, points)
        line = np.array([(round(x * sx), round(y * sy)) for x, y in points], dtype=np.int32)
        cv2.polylines(paths, [line], False, colour, 2, cv2.LINE_AA)
    image = cv2.addWeighted(paths, 0.45, image, 0.55, 0)
    geometry = CountingGeometry(p.counting)
    image = draw_overlay(image, geometry, (sx, sy), [], p.band_px)
    if p.width is None or p.length is None:
        return image
    middle = _line_middle(p)
    # beside the middle of the line, where the "IN" arrow is drawn
    shift = p.width.at(middle[1]) * 1.2
    anchor = (middle[0] + geometry.axis[0] * shift, middle[1] + geometry.axis[1] * shift)
    places = [anchor]
    if p.width.perspective or p.length.perspective:
        far, near = _ends(p.width, p.length)
        places += [(middle[0] - shift, far), (middle[0] - shift, near)]
    for x, y in places:
        w, length = p.width.at(y), p.length.at(y)
        angle = math.degrees(math.atan2(geometry.axis[1], geometry.axis[0]))
        corners = cv2.boxPoints(((x, y), (w, length), angle))
        box = np.array([(round(cx * sx), round(cy * sy)) for cx, cy in corners], dtype=np.int32)
        cv2.polylines(image, [box], True, BOX, 2, cv2.LINE_AA)
        cv2.putText(image, f"{w:.0f}x{length:.0f}", (int(box[:, 0].min()), int(box[:, 1].min()) - 4),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, BOX, 1, cv2.LINE_AA)
    return image


def _direction_colour(p: Proposal, points: list[tuple[float, float]]) -> tuple[int, int, int]:
    geometry = CountingGeometry(p.counting)
    start = geometry.signed_distance(points[0])
    end = geometry.signed_distance(points[-1])
    if start is None or end is None or start == end:
        return PATH_OTHER
    return PATH_IN if end > start else PATH_OUT


def _line_middle(p: Proposal) -> tuple[float, float]:
    if p.counting.line is not None:
        (ax, ay), (bx, by) = p.counting.line.a, p.counting.line.b
        return (ax + bx) / 2, (ay + by) / 2
    assert p.counting.zone is not None
    xs = [x for x, _ in p.counting.zone.polygon]
    ys = [y for _, y in p.counting.zone.polygon]
    return sum(xs) / len(xs), sum(ys) / len(ys)
