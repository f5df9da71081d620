"""Feed files for the parser tests and bench/feed_parsers.py: one HRD-Net <scn_list> (`scn`), and large
realistic files in each format, written incrementally so that writing them holds nothing in memory."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

from courses.ingest import generic_csv
from courses.ingest.records import FeedRecord

ROOT = Path(__file__).resolve().parents[2]

BASE = {
    "address": "서울특별시 강남구 테헤란로 1",
    "courseMan": "1,000,000",
    "ncsCd": "20010101",
    "realMan": "1000000",
    "regCourseMan": "3",
    "stdgScor": "",
    "subTitle": "테스트훈련원",
    "telNo": "02-000-0000",
    "title": "테스트 과정",
    "traEndDate": "2025-06-30",
    "traStartDate": "2025-04-01",
    "trainTargetCd": "C0061",
    "trainstCstId": "500020000001",
    "trngAreaCd": "11680",
    "trprDegr": "1",
    "trprId": "AIG20250000000001",
    "wkendSe": "3",
    "yardMan": "20",
}


def scn(order: list[str] | None = None, **fields) -> str:
    """One <scn_list>: BASE with `fields` on top (None drops a field). Values are raw XML text."""
    values = {**BASE, **fields}
    names = order or sorted(values)
    return (
        "<scn_list>\n"
        + "".join(f"<{name}>{values[name]}</{name}>\n" for name in names if values.get(name) is not None)
        + "</scn_list>\n"
    )


def write_xml(path: Path, count: int) -> Path:
    """A realistic feed, written incrementally (alphabetical fields, as HRD-Net sends them)."""
    template = scn(
        trprId="AIG2025{i:010d}",
        trprDegr="{degr}",
        title="[KDT] 클라우드 &amp;amp; AI 엔지니어 {i} 과정",
        contents="파이썬 &amp;lt;데이터&amp;gt; 분석 실무 과정입니다",
        certificate="정보처리기사",
        eiEmplCnt3="12",
        eiEmplRate3="45.5",
        eiEmplRate6="0",
        grade="",
        instCd="500020012345",
        stdgScor="9250",
        subTitleLink="https://example.kr/p",
        titleIcon="1",
        titleLink="https://www.work24.go.kr/x?trprId=AIG2025{i:010d}&amp;amp;degr={degr}",
        trainTarget="K-디지털 트레이닝",
        trngAreaCd="{area}",
    )
    areas = ("11680", "29110", "28260", "41135", "")
    with path.open("w", encoding="utf-8") as handle:
        handle.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<HRDNet>\n<scn_cnt>{count}</scn_cnt>\n'
            f"<pageNum>1</pageNum>\n<pageSize>{count}</pageSize>\n<srchList>\n"
        )
        for i in range(count):
            handle.write(template.format(i=i, degr=i % 9 + 1, area=areas[i % 5]))
        handle.write("</srchList>\n</HRDNet>\n")
    return path


def write_csv(path: Path, count: int) -> Path:
    columns = generic_csv.COLUMNS
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(columns) + "\r\n")
        for i in range(count):
            values = _generic_values(i)
            handle.write(
                ",".join(
                    f'"{values[c]}"' if c in ("title", "keywords", "address") else str(values.get(c, ""))
                    for c in columns
                )
                + "\r\n"
            )
    return path


def write_json_lines(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            handle.write(json.dumps(_generic_values(i), ensure_ascii=False) + "\n")
    return path


def write_json_array(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        for i in range(count):
            handle.write(("," if i else "") + json.dumps(_generic_values(i), ensure_ascii=False) + "\n")
        handle.write("]\n")
    return path


def _generic_values(i: int) -> dict:
    return {
        "course_id": f"SWA-{i // 9:07d}",
        "run_number": i % 9 + 1,
        "title": f"AI 서비스 개발, {i}기",
        "provider_name": "한국SW교육원",
        "provider_id": "MSIT-P-0012",
        "start_date": "2025-03-03",
        "end_date": "20250829",
        "fee": 0,
        "capacity": 40,
        "programme_code": "MSIT-SWA",
        "source_enrolled": 3,
        "ncs_code": "20010101",
        "region_code": "29110",
        "address": "서울특별시 마포구 월드컵북로 396",
        "phone": "02-000-0000",
        "contents": "AI 서비스 개발 실무 과정입니다",
        "keywords": "AI, 파이썬",
        "url": "https://swacademy.example.kr/c/1",
        "weekend": "weekday",
        "mode": "classroom",
        "hours": 960,
        "days": 120,
        "satisfaction": 91.5,
        "employment_rate_3m": 45.5,
    }


# -- memory ---------------------------------------------------------------------------------------------------


def traced_peak(parse, path: Path) -> tuple[int, int]:
    """(records, peak bytes of Python objects) for one parse of a file of valid records, under tracemalloc."""
    tracemalloc.start()
    try:
        count = 0
        with path.open("rb") as handle:
            for item in parse(handle, source="test"):
                assert isinstance(item, FeedRecord), item
                count += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return count, peak


RSS_SCRIPT = """
import re, sys
from courses.ingest import hrdnet_xml
with open(sys.argv[1], "rb") as handle:
    count = sum(1 for _ in hrdnet_xml.parse(handle, source="rss"))
with open("/proc/self/status") as status:  # VmHWM: this process's peak RSS (ru_maxrss survives exec)
    print(count, re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
"""


def child_peak_rss_kib(path: Path) -> tuple[int, int]:
    """(records, peak RSS in KiB) of a fresh process that parses an HRD-Net XML file (Linux: /proc)."""
    out = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(path)], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    return int(out[0]), int(out[1])
