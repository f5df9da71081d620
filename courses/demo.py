"""The demo catalog: realistic, deterministic feed files, loaded through the real importer.

    generate(out_dir, runs=3000, seed=1, anchor=date(2026, 11, 1))  -> [(path, format, source), …]
    load(runs=3000, seed=1)                                          -> [ImportResult, …]

generate() writes what the site's sources would send, in their own formats, so a demo exercises the same
code a production import does (parsers, validation, matching, provenance):

- ``hrdnet.xml`` — the HRD-Net/고용24 list feed (≈85 % of the runs; source ``hrdnet``): MOEL programmes
  (general card courses C0061*, KDT C0104, K-Digital Credit C0105, 국기 C0054*, 산대특 C0102, 과정평가형
  C0055C, remote C0055/C0031*), fields in alphabetical order as the real API sends them, both date
  formats, blanks and ``0`` for unknown values, ``stdgScor`` on the 100 and the 10,000 scale, HTML entities
  in some titles, region codes that still use the pre-2026 numbering, duplicated runs and a few broken
  records;
- ``msit-academy.csv`` (MSIT SW아카데미 / AI 융합 아카데미), ``mss-digital.json`` (MSS 중소기업 DX, a JSON
  array), ``motie-academy.csv`` (MOTIE 산업 DX) and ``moe-kmooc.jsonl`` (MOE K-MOOC, JSON Lines) — the
  generic formats of docs/feeds.md (columns = FeedRecord field names). The CSV copies lose the leading zero
  of NCS codes such as ``08020104``, as spreadsheet exports do. About 2 % of the HRD-Net courses are also
  listed by one of these sources, same provider, with the title spelled differently (spacing, bracket tags,
  a cohort marker), so the site shows "also listed by …".

``runs`` counts the run records written across all files (including the ≈0.3 % duplicates and ≈0.5 %
broken records); providers scale with it (one per ~120 runs, at least 20, at most 1,000) and cover every
시·도. Everything derives from a random generator seeded by ``seed``, so the same (runs, seed, anchor) gives
byte-identical files; ``anchor`` is the day start dates are spread around (about a third in the past, half
within the following two months, the rest up to eight months ahead), so that on the day of loading the
catalog shows every recruitment status (courses.enrolment_window): 모집 예정, many 모집 중, some 마감 임박 and
마감 (full runs, remote courses closing ten days early), 훈련 중 and 종료. Files are written record by record, so memory stays flat however
many runs are asked for.

``load()`` generates into a temporary folder and imports every file with ``import_file`` (actor ``demo``),
HRD-Net first so that the other sources' listings find their providers and courses. Loading the same
(runs, seed, anchor) again changes nothing. The default anchor is the first day of the current month in KST,
so a demo stays the same for a whole month and then moves with the calendar.
"""

from __future__ import annotations

import csv
import html
import json
import math
import shutil
import tempfile
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING

from courses import matching
from courses.ingest.generic_csv import COLUMNS as GENERIC_COLUMNS  # the generic feed's header, in its order
from courses.reference import read_csv
from hrdnet import korean

if TYPE_CHECKING:
    from courses.ingest.importer import ImportResult
    from courses.ingest.records import FeedRecord, Rejection

DEMO_ACTOR = "demo"
RUNS_PER_PROVIDER = 120
MIN_PROVIDERS, MAX_PROVIDERS = 20, 1000
CROSS_LIST_SHARE = 0.028  # of the eligible HRD-Net courses (digital, not remote): ≈2 % of all of them
BROKEN_SHARE = 0.005  # records a parser must reject
DUPLICATE_SHARE = 0.003  # runs a feed repeats (paging overlap)
OLD_CODE_SHARE = 0.2  # runs in a renumbered district (광주·전남, 강원, 전북, 인천 …) still sent with the old code


@dataclass(frozen=True)
class Feed:
    source: str
    fmt: str  # importer format: hrdnet-xml | csv | json
    file_name: str
    share: float  # of the courses (academies run fewer runs per course: HRD-Net ends up with ≈85 % of the runs)
    programmes: tuple[tuple[str, float], ...]
    course_prefix: str = ""
    provider_prefix: str = ""


FEEDS = (
    Feed(
        "hrdnet",
        "hrdnet-xml",
        "hrdnet.xml",
        0.83,
        (
            ("C0061", 17),
            ("C0061S", 10),
            ("C0061I", 6),
            ("C0104", 14),
            ("C0105", 8),
            ("C0054", 5),
            ("C0054G", 2),
            ("C0054Y", 2),
            ("C0054S", 1),
            ("C0055C", 3),
            ("C0102", 5),
            ("C0055", 7),
            ("C0031", 9),
            ("C0031F", 2),
            ("C0031C", 2),
        ),
    ),
    Feed("msit-academy", "csv", "msit-academy.csv", 0.07, (("MSIT-SWA", 6), ("MSIT-AIC", 4)), "SWA", "MSIT-ORG-"),
    Feed("mss-digital", "json", "mss-digital.json", 0.05, (("MSS-DGA", 1),), "MSSDX", "MSS-P"),
    Feed("motie-academy", "csv", "motie-academy.csv", 0.03, (("MOTIE-IDA", 1),), "IDA-", "MOTIE-"),
    Feed("moe-kmooc", "json", "moe-kmooc.jsonl", 0.02, (("MOE-LLL", 1),), "KMOOC", "KM"),
)
FEED_BY_SOURCE = {feed.source: feed for feed in FEEDS}

# -- vocabulary ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    key: str
    names: tuple[str, ...]  # how titles spell it (Korean, English, spacing variants)
    roles: tuple[str, ...]
    ncs: tuple[str, ...]  # 세분류 codes from courses/data/ncs.csv
    certificates: tuple[str, ...] = ()
    weight: int = 3
    area: str = "it"  # it | design | office | industry | language | care


TOPICS = (
    Topic(
        "python",
        ("파이썬", "Python", "파이썬(Python)", "python"),
        ("개발자", "백엔드 개발자", "데이터 엔지니어"),
        ("20010202", "20010105"),
        ("정보처리기사", "PCCP"),
        6,
    ),
    Topic(
        "java",
        ("Java", "자바", "JAVA", "자바(Java)"),
        ("백엔드 개발자", "웹 개발자", "SW 개발자"),
        ("20010202", "20010201"),
        ("정보처리기사", "OCJP"),
        6,
    ),
    Topic(
        "javascript",
        ("자바스크립트", "JavaScript", "JS", "자바 스크립트"),
        ("프론트엔드 개발자", "웹 개발자"),
        ("20010202", "20010207"),
        ("웹디자인기능사",),
        4,
    ),
    Topic(
        "react",
        ("React", "리액트", "React.js", "Next.js"),
        ("프론트엔드 개발자", "웹 개발자"),
        ("20010202", "20010207"),
        (),
        3,
    ),
    Topic(
        "spring",
        ("Spring", "스프링", "Spring Boot", "스프링부트"),
        ("백엔드 개발자", "자바 개발자"),
        ("20010202", "20010201"),
        ("정보처리기사",),
        4,
    ),
    Topic(
        "ai",
        ("AI", "인공지능", "인공 지능", "AI(인공지능)"),
        ("AI 개발자", "AI 엔지니어", "AI 서비스 기획자"),
        ("20010703", "20010705", "20010701", "20010702"),
        ("AICE", "빅데이터분석기사"),
        7,
    ),
    Topic(
        "ml",
        ("머신러닝", "머신 러닝", "Machine Learning", "ML"),
        ("AI 엔지니어", "데이터 사이언티스트"),
        ("20010703", "20010105"),
        ("빅데이터분석기사", "ADsP"),
        4,
    ),
    Topic(
        "dl",
        ("딥러닝", "딥 러닝", "Deep Learning"),
        ("AI 엔지니어", "비전 AI 개발자"),
        ("20010703", "20010705"),
        ("TensorFlow Developer",),
        3,
    ),
    Topic(
        "genai",
        ("생성형 AI", "생성형AI", "ChatGPT", "LLM", "프롬프트 엔지니어링"),
        ("AI 서비스 개발자", "LLM 엔지니어"),
        ("20010707", "20010705"),
        ("AICE",),
        4,
    ),
    Topic(
        "bigdata",
        ("빅데이터", "빅 데이터", "Big Data", "BigData"),
        ("데이터 엔지니어", "데이터 분석가"),
        ("20010105", "20010209", "20010304", "20010107"),
        ("빅데이터분석기사", "ADsP", "SQLD"),
        6,
    ),
    Topic(
        "analysis",
        ("데이터 분석", "데이터분석", "Data Analysis", "데이터 사이언스"),
        ("데이터 분석가", "데이터 사이언티스트"),
        ("20010105", "20010304"),
        ("ADsP", "SQLD", "빅데이터분석기사"),
        6,
    ),
    Topic(
        "sql",
        ("SQL", "데이터베이스", "DB", "Oracle DB"),
        ("DB 엔지니어", "데이터 엔지니어"),
        ("20010204", "20010211"),
        ("SQLD", "정보처리기사"),
        2,
    ),
    Topic(
        "cloud",
        ("클라우드", "AWS", "클라우드(AWS)", "Cloud", "Azure"),
        ("클라우드 엔지니어", "클라우드 아키텍트"),
        ("20010214", "20010215", "20020110", "20010216"),
        ("AWS SAA", "리눅스마스터 2급"),
        6,
    ),
    Topic(
        "devops",
        ("DevOps", "데브옵스", "쿠버네티스", "Kubernetes", "MLOps"),
        ("클라우드 엔지니어", "DevOps 엔지니어"),
        ("20010215", "20010216"),
        ("CKA", "리눅스마스터 2급"),
        3,
    ),
    Topic(
        "security",
        ("정보보안", "보안", "사이버보안", "사이버 보안", "화이트해커"),
        ("보안 전문가", "보안관제 요원", "모의해킹 전문가"),
        ("20010601", "20010602", "20010603", "20010206", "20010612"),
        ("정보보안기사", "정보보안산업기사"),
        5,
    ),
    Topic(
        "uxui",
        ("UX/UI 디자인", "UI/UX 디자인", "UX·UI 디자인", "UXUI디자인", "UI UX"),
        ("디자이너", "UX 디자이너", "프로덕트 디자이너"),
        ("20010207", "08020104", "08020106"),
        ("웹디자인기능사", "GTQ 1급"),
        4,
    ),
    Topic(
        "web",
        ("웹 개발", "웹개발", "Web 개발", "웹 퍼블리싱", "웹퍼블리셔"),
        ("웹 개발자", "웹 퍼블리셔", "프론트엔드 개발자"),
        ("20010202", "20010207"),
        ("웹디자인기능사", "정보처리기사"),
        6,
    ),
    Topic(
        "fullstack",
        ("풀스택", "풀 스택", "Full-Stack", "Fullstack"),
        ("개발자", "웹 개발자"),
        ("20010202",),
        ("정보처리기사",),
        4,
    ),
    Topic(
        "app",
        ("앱 개발", "앱개발", "모바일 앱", "Android", "iOS", "Flutter", "안드로이드", "Kotlin"),
        ("앱 개발자", "모바일 개발자"),
        ("20010202",),
        ("정보처리기사",),
        4,
    ),
    Topic(
        "blockchain",
        ("블록체인", "블록 체인", "Blockchain", "Web3"),
        ("블록체인 개발자",),
        ("20010801", "20010802", "20010803"),
        (),
        2,
    ),
    Topic(
        "iot",
        ("IoT", "사물인터넷", "IoT(사물인터넷)", "AIoT"),
        ("IoT 개발자", "임베디드 개발자"),
        ("20010212", "20010106", "20020205", "20010305"),
        ("정보통신기사",),
        3,
    ),
    Topic(
        "embedded",
        ("임베디드", "임베디드 SW", "Embedded", "펌웨어"),
        ("임베디드 개발자", "펌웨어 엔지니어"),
        ("20010203",),
        ("임베디드기사",),
        3,
    ),
    Topic(
        "game",
        ("게임 개발", "게임개발", "Unity", "유니티", "Unreal", "언리얼 엔진"),
        ("게임 개발자", "게임 클라이언트 개발자"),
        ("08030205", "20010202"),
        ("게임프로그래밍전문가",),
        3,
    ),
    Topic(
        "network",
        ("네트워크", "리눅스 서버", "Linux", "네트워크 보안"),
        ("네트워크 엔지니어", "시스템 엔지니어"),
        ("20020103", "20010205", "20010301"),
        ("네트워크관리사 2급", "CCNA", "리눅스마스터 2급"),
        3,
    ),
    Topic(
        "twin",
        ("디지털트윈", "디지털 트윈", "메타버스", "XR"),
        ("XR 콘텐츠 개발자", "디지털트윈 엔지니어"),
        ("20011003", "20011002", "20020401"),
        (),
        2,
    ),
    Topic(
        "semiconductor",
        ("반도체", "반도체 공정", "반도체 설계", "시스템반도체"),
        ("반도체 엔지니어", "공정 엔지니어"),
        ("19030601", "19030602", "19030603"),
        ("반도체설계산업기사", "전자기사"),
        3,
        "industry",
    ),
    Topic(
        "robot",
        ("로봇", "ROS 로봇", "협동로봇", "로봇 자동화"),
        ("로봇 엔지니어", "자동화 엔지니어"),
        ("19030803", "19030804", "19030805"),
        ("로봇기능사",),
        2,
        "industry",
    ),
    Topic(
        "factory",
        ("스마트팩토리", "스마트 팩토리", "스마트공장", "Smart Factory", "PLC 자동제어"),
        ("스마트공장 엔지니어", "설비 엔지니어"),
        ("15110201", "15110301", "15110101"),
        ("생산자동화산업기사", "PLC제어기능사"),
        3,
        "industry",
    ),
    Topic(
        "ev",
        ("전기차", "전기자동차", "EV", "친환경자동차"),
        ("전기차 정비 전문가", "배터리 엔지니어"),
        ("15060307", "19011401", "15060301"),
        ("자동차정비기능사", "전기기능사"),
        2,
        "industry",
    ),
    Topic(
        "modeling",
        ("3D 모델링", "3D모델링", "3D 프린팅", "CAD", "AutoCAD", "인벤터"),
        ("3D 디자이너", "설계 엔지니어"),
        ("08020110", "19031102", "15010201"),
        ("전산응용기계제도기능사", "3D프린터운용기능사"),
        3,
        "industry",
    ),
    Topic(
        "video",
        ("영상 편집", "영상편집", "유튜브 영상", "프리미어 프로", "Premiere", "모션그래픽"),
        ("영상 편집자", "크리에이터", "모션 디자이너"),
        ("08030406", "08030405", "08030401"),
        ("GTQ 1급",),
        4,
        "design",
    ),
    Topic(
        "design",
        ("시각디자인", "웹디자인", "포토샵", "Photoshop", "일러스트레이터", "편집디자인"),
        ("디자이너", "웹 디자이너"),
        ("08020101", "08020104"),
        ("웹디자인기능사", "GTQ 1급", "컴퓨터그래픽스운용기능사"),
        4,
        "design",
    ),
    Topic(
        "office",
        ("사무자동화", "엑셀", "Excel", "컴퓨터활용능력", "ITQ", "스마트워크", "OA"),
        ("사무원", "사무 전문가"),
        ("02020302",),
        ("컴퓨터활용능력 1급", "컴퓨터활용능력 2급", "ITQ", "MOS"),
        6,
        "office",
    ),
    Topic(
        "accounting",
        ("회계", "전산회계", "세무회계", "ERP 회계", "더존 회계"),
        ("회계 실무자", "세무 사무원"),
        ("02030201", "02030202"),
        ("전산회계 1급", "전산세무 2급", "FAT 1급", "ERP정보관리사"),
        5,
        "office",
    ),
    Topic(
        "marketing",
        ("디지털 마케팅", "디지털마케팅", "퍼포먼스 마케팅", "SNS 마케팅", "콘텐츠 마케팅", "그로스 마케팅"),
        ("마케터", "디지털 마케터"),
        ("02010301", "02010202", "02010302"),
        ("검색광고마케터 1급", "GAIQ"),
        5,
        "office",
    ),
    Topic(
        "english",
        ("비즈니스 영어", "IT 영어", "영어 회화", "일본어 회화", "중국어"),
        ("실무자",),
        (),
        ("TOEIC", "OPIc"),
        1,
        "language",
    ),
    Topic("care", ("요양보호", "돌봄서비스", "사회복지 실무"), ("돌봄 종사자",), (), (), 1, "care"),
)

LEVELS = (
    "입문",
    "기초",
    "실무",
    "심화",
    "부트캠프",
    "양성과정",
    "실무자 양성과정",
    "전문가 양성과정",
    "과정",
    "완성 과정",
    "마스터 과정",
    "취업 과정",
    "실전 프로젝트",
    "기초부터 실무까지",
    "입문부터 실전까지",
)
PROGRAMME_TAGS = {
    "C0104": ("[KDT] ", "[K-디지털 트레이닝] ", "[K-Digital Training] ", "", ""),
    "C0105": ("[K-디지털 기초역량] ", "[KDC] ", "[디지털 기초역량] ", ""),
    "C0061": ("【국비지원】", "[내일배움카드] ", "[국비] ", "", "", ""),
    "C0054": ("[국가기간] ", "[국기] ", "[국가기간전략] ", ""),
    "C0102": ("[산대특] ", "[산업구조변화대응] ", ""),
    "C0055C": ("[과정평가형] ", "[과정평가형 국가기술자격] ", ""),
    "C0055": ("[원격] ", "[인터넷] ", "", ""),
    "C0031": ("[원격] ", "[인터넷원격] ", "", ""),
    "MSIT-SWA": ("[SW아카데미] ", "[SW Academy] ", ""),
    "MSIT-AIC": ("[AI 융합 아카데미] ", "[AI융합] ", ""),
    "MSS-DGA": ("[중소기업 DX] ", "[디지털전환] ", ""),
    "MOTIE-IDA": ("[산업 DX 아카데미] ", "[산업디지털전환] ", ""),
    "MOE-LLL": ("[K-MOOC] ", "[매치업] ", ""),
}
CROSS_SUFFIXES = ("", " (주말)", " 2기", " (3기)", " 제5기")

REMOTE_PROGRAMMES = {"C0055", "C0031", "C0031C", "C0031F", "MOE-LLL"}
CAPPED_PROGRAMMES = {"C0104", "C0054", "C0054G", "C0054Y", "C0054S", "C0102"}
FREE_PROGRAMMES = {"MSIT-SWA", "MSIT-AIC", "MOTIE-IDA", "MOE-LLL"}
GENERAL_CARD = {"C0061", "C0061S", "C0061I", "C0055C", "C0055", "C0031", "C0031C", "C0031F", "MSS-DGA"}

HRDNET_KIND = {"classroom": "M1001", "remote": "M1005", "blended": "M1010"}
WEEKEND_CODE = {"weekend": "1", "mixed": "2", "weekday": "3", "unknown": "9"}

# 시·도 weights: roughly where training providers are (most in the capital region).
SIDO_WEIGHTS = {
    "11": 30,
    "41": 22,
    "28": 5,
    "26": 6,
    "27": 4,
    "12": 5,
    "30": 3.5,
    "31": 2,
    "36": 1,
    "51": 2,
    "43": 2.5,
    "44": 3,
    "52": 2.5,
    "47": 3,
    "48": 4,
    "50": 1.2,
}
AREA_CODES = {
    "11": "02",
    "41": "031",
    "28": "032",
    "51": "033",
    "44": "041",
    "30": "042",
    "43": "043",
    "36": "044",
    "26": "051",
    "31": "052",
    "27": "053",
    "47": "054",
    "48": "055",
    "12": "062",
    "52": "063",
    "50": "064",
}
SEOUL_HOTSPOTS = ("11680", "11110", "11440", "11530", "11545", "11560", "11650", "11140", "11215")

ROADS = (
    "중앙로",
    "시청로",
    "문화로",
    "산업로",
    "과학로",
    "혁신로",
    "번영로",
    "평화로",
    "대학로",
    "역전로",
    "공단로",
    "새마을로",
    "희망로",
    "첨단로",
    "테크노로",
    "벤처로",
    "상공로",
    "시민로",
)
LOCAL_ROADS = {
    "11680": ("테헤란로", "강남대로", "도산대로"),
    "11110": ("종로", "세종대로"),
    "11440": ("월드컵북로", "양화로"),
    "11530": ("디지털로", "구로동로"),
    "11545": ("가산디지털1로", "가산디지털2로"),
    "11560": ("국제금융로", "영등포로"),
    "11650": ("서초대로", "강남대로"),
    "11140": ("을지로", "퇴계로"),
    "11215": ("능동로", "아차산로"),
    "41135": ("판교역로", "대왕판교로"),
    "30200": ("대학로", "엑스포로"),
    "26350": ("센텀중앙로", "해운대로"),
}
BRAND_HEADS = (
    "멀티",
    "코드",
    "데이터",
    "스마트",
    "넥스트",
    "디지털",
    "에이아이",
    "클라우드",
    "퓨처",
    "하이",
    "비트",
    "링크",
    "오픈",
    "블루",
    "이노",
    "소프트",
    "테크",
    "위드",
    "브레인",
    "러닝",
    "에듀",
    "알파",
    "플러스",
    "퀀텀",
    "모두의",
    "바른",
    "새싹",
    "씨앗",
    "한빛",
    "아이티윌",
    "인사이트",
    "메타",
    "제로",
    "엔코아",
    "유니",
)
BRAND_TAILS = (
    "캠퍼스",
    "아카데미",
    "에듀",
    "러닝",
    "랩스",
    "스쿨",
    "교육",
    "에듀테크",
    "인재개발원",
    "캠프",
    "교육센터",
    "IT교육원",
)
CHAIN_HEADS = (
    "코리아",
    "그린",
    "하이",
    "중앙",
    "대한",
    "미래",
    "한빛",
    "새롬",
    "누리",
    "우리",
    "다솜",
    "한울",
    "이젠",
    "더조은",
    "비전",
    "에이스",
    "한국",
    "KG",
    "KH",
    "SBS",
    "글로벌",
    "정석",
    "명지",
    "태성",
    "경일",
    "영남",
    "호남",
    "대경",
)
CHAIN_KINDS = (
    "IT아카데미",
    "컴퓨터아트학원",
    "정보교육원",
    "컴퓨터학원",
    "정보처리학원",
    "디자인학원",
    "아카데미컴퓨터학원",
    "IT교육센터",
    "직업능력개발원",
)
SCHOOL_HEADS = (
    "한국IT",
    "한국디지털",
    "한국정보",
    "서울디지털",
    "한국게임",
    "한국직업",
    "한국산업",
    "대한",
    "미래산업",
    "첨단",
    "국제",
    "한국전산",
    "한국스마트",
    "경기IT",
    "부산IT",
    "대구디지털",
    "광주IT",
    "대전IT",
)
POLYTECH = (
    ("서울정수", "11170"),
    ("서울강서", "11500"),
    ("인천", "28237"),
    ("남인천", "28200"),
    ("성남", "41131"),
    ("화성", "41593"),
    ("안성", "41550"),
    ("춘천", "51110"),
    ("원주", "51130"),
    ("강릉", "51150"),
    ("청주", "43113"),
    ("충주", "43130"),
    ("대전", "30110"),
    ("아산", "44200"),
    ("홍성", "44800"),
    ("익산", "52140"),
    ("전북", "52210"),
    ("광주", "12300"),
    ("순천", "12150"),
    ("목포", "12110"),
    ("대구", "27230"),
    ("구미", "47190"),
    ("포항", "47111"),
    ("영주", "47210"),
    ("창원", "48123"),
    ("부산", "26230"),
    ("울산", "31140"),
    ("진주", "48170"),
    ("제주", "50110"),
    ("세종", "36110"),
)
UNIVERSITIES = (
    "한빛대학교",
    "미래과학기술대학교",
    "중앙디지털대학교",
    "한국ICT대학교",
    "새솔대학교",
    "누리공과대학교",
    "해오름대학교",
    "청운IT대학교",
    "바른과학대학교",
    "동해정보대학교",
)
CONTENT_SENTENCES = {
    "it": (
        "{t}의 기초 문법부터 실무 프로젝트까지 단계별로 학습합니다.",
        "실습용 노트북과 클라우드 실습 환경을 제공합니다.",
        "주 1회 멘토링과 코드 리뷰로 학습을 점검합니다.",
        "팀 프로젝트로 {r} 포트폴리오를 완성합니다.",
    ),
    "design": (
        "{t} 툴 사용법부터 실제 클라이언트 작업까지 실습합니다.",
        "수업마다 결과물을 만들어 {r} 포트폴리오로 정리합니다.",
    ),
    "office": ("실무에서 바로 쓰는 {t} 기능을 예제 중심으로 익힙니다.", "회사 업무 사례로 {t} 실력을 다집니다."),
    "industry": (
        "{t} 장비를 갖춘 실습실에서 현장 중심으로 훈련합니다.",
        "협약 기업 현장 견학과 {r} 직무 실습을 포함합니다.",
    ),
    "language": ("원어민 강사와 업무 상황별 {t} 표현을 연습합니다.",),
    "care": ("{t} 현장에서 필요한 지식과 태도를 사례로 배웁니다.",),
    "any": (
        "현업 출신 강사진이 {t} 실무 사례를 중심으로 지도합니다.",
        "수료 후 협약 기업 채용 연계와 1:1 취업 컨설팅을 지원합니다.",
        "비전공자도 따라올 수 있도록 기초부터 시작합니다.",
        "{t} 관련 자격증 취득을 목표로 모의고사와 실습을 병행합니다.",
        "최신 산업 동향에 맞춘 {t} 커리큘럼으로 구성되어 있습니다.",
        "훈련장려금 지급 대상 과정입니다(출석률 80% 이상).",
    ),
}


# -- reference data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Regions:
    sido_names: dict[str, str]
    districts: dict[str, list[tuple[str, str]]]  # 시·도 -> [(code, name)], cities divided into 구 left out
    old_codes: dict[str, tuple[str, ...]]  # today's code -> the codes it had before


def _regions() -> _Regions:
    rows = read_csv("regions.csv")
    names = [row["name"] for row in rows if row["level"] == "2"]
    sido_names, districts, old_codes = {}, {}, {}
    for row in rows:
        if row["level"] == "1":
            sido_names[row["code"]] = row["name"]
            continue
        if any(other.startswith(row["name"] + " ") for other in names):
            continue  # 수원시 itself: providers sit in one of its 구
        districts.setdefault(row["parent_code"], []).append((row["code"], row["name"]))
        if row["old_code"]:
            old_codes[row["code"]] = tuple(row["old_code"].split(";"))
    return _Regions(sido_names, districts, old_codes)


def _ncs_siblings() -> dict[str, list[str]]:
    """세분류 codes by 중분류 (first 4 digits), for a second source that classifies a course a little differently."""
    siblings: dict[str, list[str]] = {}
    for row in read_csv("ncs.csv"):
        if row["level"] == "4":
            siblings.setdefault(row["code"][:4], []).append(row["code"])
    return siblings


# -- providers ----------------------------------------------------------------------------------------


@dataclass
class _Provider:
    index: int
    name: str
    kind: str
    region_code: str
    address: str
    phone: str
    business_number: str
    hrdnet_id: str  # trainstCstId
    inst_code: str


def provider_count(runs: int) -> int:
    return max(MIN_PROVIDERS, min(MAX_PROVIDERS, round(runs / RUNS_PER_PROVIDER)))


def _business_number(rng: Random, corporate: bool, used: set[str]) -> str:
    """A well-formed 사업자등록번호 (office, kind, serial, check digit) not used before."""
    while True:
        digits = [
            int(c)
            for c in f"{rng.randint(101, 899):03d}{rng.randint(81, 88) if corporate else rng.randint(1, 79):02d}"
            f"{rng.randint(1, 9999):04d}"
        ]
        total = sum(d * w for d, w in zip(digits, (1, 3, 7, 1, 3, 7, 1, 3, 5), strict=True)) + digits[8] * 5 // 10
        number = "".join(map(str, digits)) + str((10 - total % 10) % 10)
        if number not in used and number != "1018100001":  # vouchers.demo's own provider
            used.add(number)
            return number


def _providers(rng: Random, count: int, regions: _Regions) -> list[_Provider]:
    sidos = list(SIDO_WEIGHTS)
    sido_cum = list(accumulate(SIDO_WEIGHTS.values()))
    used_names: set[str] = set()
    used_numbers: set[str] = set()
    hrdnet_ids = rng.sample(range(10_000_000, 99_999_999), count)
    providers: list[_Provider] = []
    polytech = list(POLYTECH)
    rng.shuffle(polytech)
    for index in range(count):
        # the first sixteen cover every 시·도 once; the rest follow where providers really are
        sido = sidos[index] if index < len(sidos) else sidos[bisect(sido_cum, rng.random() * sido_cum[-1])]
        district = _district(rng, regions, sido)
        kind = rng.choices(
            ("chain", "corp", "school", "polytech", "univ", "assoc", "centre"), (38, 25, 14, 4, 5, 5, 9)
        )[0]
        campuses = [campus for campus in polytech if campus[1][:2] == sido]
        if kind == "polytech" and not campuses:
            kind = "corp"
        for _attempt in range(50):
            if kind == "polytech":
                campus, code = campuses[0]
                polytech.remove(campuses[0])
                district = (code, dict(regions.districts[sido])[code])
                name = f"한국폴리텍대학 {campus}캠퍼스"
            else:
                name = _provider_name(rng, kind, regions, district)
            key = matching.normalise_name(name)
            if key not in used_names:
                used_names.add(key)
                break
        else:
            name = f"{name} {index}"
            used_names.add(matching.normalise_name(name))
        code, district_name = district
        address = (
            f"{regions.sido_names[code[:2]]} {district_name} {rng.choice(LOCAL_ROADS.get(code, ROADS))} "
            f"{rng.randint(1, 480)}" + (f", {rng.randint(2, 15)}층" if rng.random() < 0.7 else "")
        )
        phone = f"{AREA_CODES[code[:2]]}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        providers.append(
            _Provider(
                index=index,
                name=name,
                kind=kind,
                region_code=code,
                address=address,
                phone=phone,
                business_number=_business_number(rng, kind in ("corp", "univ", "assoc", "polytech"), used_numbers),
                hrdnet_id=f"5000{hrdnet_ids[index]:08d}",
                inst_code=f"{rng.randint(100000, 999999)}",
            )
        )
    return providers


def _district(rng: Random, regions: _Regions, sido: str) -> tuple[str, str]:
    options = regions.districts[sido]
    if sido == "11" and rng.random() < 0.5:
        code = rng.choice(SEOUL_HOTSPOTS)
        return code, dict(options)[code]
    return rng.choice(options)


def _place(district_name: str) -> str:
    """강남구 -> 강남, 성남시 분당구 -> 분당, 중구 -> 중구, 세종특별자치시 -> 세종."""
    last = district_name.split(" ")[-1]
    if last.endswith("특별자치시"):
        return last[:2]
    short = last[:-1] if last[-1] in "시군구" else last
    return short if len(short) >= 2 else last


def _provider_name(rng: Random, kind: str, regions: _Regions, district: tuple[str, str]) -> str:
    place = _place(district[1])
    if kind == "chain":
        return f"{rng.choice(CHAIN_HEADS)}{rng.choice(CHAIN_KINDS)} {place}"
    if kind == "corp":
        form = rng.choices(("(주)", "주식회사 ", "㈜", ""), (6, 2, 1, 1))[0]
        return f"{form}{rng.choice(BRAND_HEADS)}{rng.choice(BRAND_TAILS)}"
    if kind == "school":
        return f"{rng.choice(SCHOOL_HEADS)}직업전문학교" + (f" {place}캠퍼스" if rng.random() < 0.3 else "")
    if kind == "univ":
        return f"{rng.choice(UNIVERSITIES)} " + rng.choice(
            ("산학협력단", "평생교육원", "SW중심대학사업단", "디지털혁신공유대학")
        )
    if kind == "assoc":
        return (
            f"(사)한국{rng.choice(('정보기술', '데이터산업', '디지털융합', 'SW산업', '정보보호', '인공지능'))}"
            f"{rng.choice(('협회', '진흥협회', '연합회'))}"
        )
    sido = regions.sido_names[district[0][:2]][:2]
    return f"{rng.choice((sido, place, '디지털', '청년'))}{rng.choice(('인재개발원', '일자리센터', '디지털교육센터', '상공회의소 인력개발원'))}"


# -- courses and runs ---------------------------------------------------------------------------------


@dataclass
class _Course:
    feed: Feed
    course_id: str
    provider: _Provider
    programme: str
    title: str  # as a person reads it (HTML entities are a property of how the XML feed encodes it)
    entity_title: bool
    ncs: str | None
    mode: str
    weekend: str
    hours: int
    days: int
    fee: int
    capacity: int
    contents: str | None
    certificate: str | None
    keywords: str
    satisfaction: float | None
    satisfaction_scale: int  # 100 or 10000
    employment: tuple[float | None, float | None, int | None]
    title_core: str = ""
    topics: tuple[Topic, ...] = field(default_factory=tuple)


@dataclass
class _Run:
    course: _Course
    number: int
    start: date
    end: date
    fee: int
    actual_cost: int | None
    support: int | None
    self_pay: int | None
    capacity: int
    enrolled: int
    region_code: str
    compact_dates: bool  # YYYYMMDD rather than YYYY-MM-DD
    broken: str = ""  # "", "no-id", "bad-date": what is wrong with it


def _round(value: float, unit: int = 10) -> int:
    return int(round(value / unit)) * unit


def _course_amounts(rng: Random, programme: str) -> tuple[str, int, int, int]:
    """(mode, hours, days, fee) for a course of this programme."""
    if programme in REMOTE_PROGRAMMES:
        hours = rng.choice((40, 40, 45, 50, 60, 60, 80, 100, 120))
        return (
            "remote",
            hours,
            rng.choice((30, 30, 60)),
            0 if programme == "MOE-LLL" else _round(rng.uniform(100_000, 600_000), 100),
        )
    if programme == "C0104":
        mode = rng.choices(("classroom", "blended", "remote"), (70, 20, 10))[0]
        days = rng.randint(60, 125)
        hours = min(1000, days * 8)
        return mode, hours, days, _round(min(18_000_000, max(5_000_000, hours * rng.uniform(9_000, 19_000))))
    if programme in FREE_PROGRAMMES:
        days = rng.randint(15, 120)
        return rng.choices(("classroom", "blended"), (75, 25))[0], days * rng.choice((6, 8)), days, 0
    mode = "blended" if programme == "C0054Y" else rng.choices(("classroom", "blended"), (85, 15))[0]
    if programme in ("C0054", "C0054G", "C0054S", "C0102", "C0055C"):
        days = rng.randint(30, 120)
        hours = days * rng.choice((5, 6, 8))
        return mode, hours, days, _round(min(10_000_000, max(1_000_000, hours * rng.uniform(5_000, 10_000))))
    if programme == "C0105":
        hours = rng.choice((40, 40, 45, 50, 60, 60, 80, 100))
        return mode, hours, max(5, hours // 6), _round(rng.uniform(150_000, 1_200_000), 100)
    hours = rng.choice((40, 60, 80, 80, 120, 120, 160, 200, 240, 300, 360, 400))
    per_day = rng.choice((3, 4, 4, 5, 6, 8))
    return (
        mode,
        hours,
        max(5, math.ceil(hours / per_day)),
        _round(min(3_000_000, max(300_000, hours * rng.uniform(4_500, 11_000)))),
    )


ENGLISH_TRACKS = {
    "python": "Python Developer",
    "cloud": "AWS Cloud Engineer",
    "fullstack": "Full-Stack Web Developer",
    "ai": "AI Engineer",
    "analysis": "Data Analyst",
    "security": "Cyber Security",
    "game": "Unity Game Developer",
    "java": "Java Backend Engineer",
    "react": "React Frontend",
    "devops": "DevOps Engineer",
    "genai": "Generative AI",
    "uxui": "UX/UI Designer",
    "app": "Mobile App Developer",
    "bigdata": "Big Data Engineer",
    "marketing": "Growth Marketing",
}
ENTITY_TAGS = ("<신규> ", "<마감임박> ", "<국비100%> ")


def _particle(word: str, after_consonant: str, after_vowel: str) -> str:
    """The word and its particle, read as a learner would say the name (파이썬을, SQL로, React를)."""
    return korean.with_particle(word, after_consonant, after_vowel, spoken=True)


def _title(
    rng: Random, programme: str, topics: tuple[Topic, ...], weekend: str, mode: str, entity: bool
) -> tuple[str, str]:
    """(full title, core without tag and suffix) in the many shapes real catalogs use."""
    first, second = topics
    a = rng.choice(first.names)
    others = [name for name in second.names if name != a and second is not first]
    b = rng.choice(others) if others else None
    role_a, role_b = rng.choice(first.roles), rng.choice(second.roles)
    level = rng.choice(LEVELS)
    shape = rng.randrange(10) if b else rng.choice((0, 4, 6, 7, 8))
    if entity and b:
        shape = 1
    if shape == 0:
        core = f"{a} {role_a} {level}"
    elif shape == 1:
        separator = " & " if entity else rng.choice(("·", " & ", "/", " + ", ", ", "·"))
        core = f"{a}{separator}{b} {role_b} {level}"
    elif shape == 2:
        core = f"{a} 기반 {b} {level}"
    elif shape == 3:
        core = (
            f"{_particle(a, '을', '를')} 활용한 {b} {rng.choice(('실무', '프로젝트', '서비스 개발', '분석', '입문'))}"
        )
    elif shape == 4:
        core = f"{a} {level}"
    elif shape == 5:
        core = f"{a}{rng.choice((' ', ''))}{b} {role_b} {level}"
    elif shape == 6:
        core = f"{ENGLISH_TRACKS.get(first.key, a)} {rng.choice(('부트캠프', '양성과정', '과정', 'Bootcamp', '트랙'))}"
    elif shape == 7:
        core = f"{rng.choice(('실무 중심', '현업 프로젝트형', '비전공자를 위한', '현직자와 함께하는', '기업연계'))} {a} {level}"
    elif shape == 8:
        core = f"{role_a} 취업을 위한 {a} {rng.choice(('입문', '기초', '실무', '집중 과정'))}"
    else:
        core = (
            f"{_particle(a, '과', '와')} {_particle(b, '으로', '로')} 배우는 "
            f"{role_b} {rng.choice(('입문', '실무', '과정'))}"
        )
    tags = PROGRAMME_TAGS.get(programme) or PROGRAMME_TAGS.get(programme[:5], ("",))
    tag = rng.choice(tags)
    if entity and "&" not in core:
        tag = rng.choice(ENTITY_TAGS) + tag
    suffix = ""
    if weekend == "weekend" and rng.random() < 0.6:
        suffix = rng.choice((" (주말)", "(주말반)", " [주말]"))
    elif mode == "remote" and rng.random() < 0.3:
        suffix = rng.choice((" (온라인)", "(원격)"))
    elif rng.random() < 0.08:
        suffix = rng.choice((" (야간)", "(야간반)"))
    if rng.random() < 0.12:
        suffix += rng.choice((f" {rng.randint(1, 30)}기", f"({rng.randint(1, 30)}기)", f" 제{rng.randint(1, 12)}기"))
    return f"{tag}{core}{suffix}".strip(), core


def _variant(rng: Random, course: _Course, programme: str) -> str:
    """The same course as another source spells it: its own tag, other spacing, a cohort marker — and the same
    normalised title (courses.matching), so the two listings become one course."""
    target = matching.normalise_title(course.title)
    tags = (*PROGRAMME_TAGS[programme], "[신규] ", "")
    core = course.title_core
    for _attempt in range(6):
        spaced = core
        if rng.random() < 0.5:
            spaced = spaced.replace(" ", "", 1) if " " in spaced else spaced
        elif rng.random() < 0.5:
            spaced = spaced.replace("데이터", "데이터 ").replace("개발자", " 개발자").replace("  ", " ")
        candidate = f"{rng.choice(tags)}{spaced}{rng.choice(CROSS_SUFFIXES)}".strip()
        if candidate != course.title and matching.normalise_title(candidate) == target:
            return candidate
    return course.title.replace(" ", "", 1) if " " in course.title else course.title + " "


class _Generator:
    def __init__(self, *, runs: int, seed: int, anchor: date, churn: float, hrdnet_only: bool):
        self.rng = Random(f"hrdnet-demo/{seed}/{runs}/{anchor.isoformat()}")
        self.churn_rng = Random(f"hrdnet-demo-churn/{seed}/{runs}/{anchor.isoformat()}")
        self.runs, self.anchor, self.churn, self.hrdnet_only = runs, anchor, churn, hrdnet_only
        self.regions = _regions()
        self.siblings = _ncs_siblings()
        self.providers = _providers(self.rng, provider_count(runs), self.regions)
        weights = [min(40.0, self.rng.paretovariate(1.3)) for _ in self.providers]
        self.provider_cum = list(accumulate(weights))
        self.titles: dict[int, set[str]] = {}  # provider index -> normalised titles already used
        self.topic_cum = list(accumulate(topic.weight for topic in TOPICS))
        self.counters = {feed.source: self.rng.randint(400_000, 600_000) for feed in FEEDS}

    # the stream of (feed, run) in file order; duplicates and broken records included
    def records(self) -> Iterator[tuple[Feed, _Run]]:
        written = 0
        pending_duplicates: list[tuple[Feed, _Run, int]] = []
        index = cross_listed = 0
        while written < self.runs:
            course = self._course(index)
            course_runs = self._runs(course)
            listings = [(course.feed, course_runs)]
            if self._also_listed(course) and (self.rng.random() < CROSS_LIST_SHARE or not cross_listed):
                listings.append(self._cross_listing(course, course_runs))
                cross_listed += 1
            for feed, feed_runs in listings:
                for run in feed_runs:
                    if written >= self.runs:
                        return
                    if self.rng.random() < BROKEN_SHARE:
                        run.broken = self.rng.choice(("no-id", "bad-date", "bad-date"))
                    elif self.rng.random() < DUPLICATE_SHARE and written + 1 < self.runs:
                        pending_duplicates.append((feed, run, index + self.rng.randint(0, 40)))
                    yield feed, run
                    written += 1
            while pending_duplicates and pending_duplicates[0][2] <= index and written < self.runs:
                feed, run, _ = pending_duplicates.pop(0)
                # a repeated page: same run, sometimes with the other date spelling
                yield feed, _Run(**{**run.__dict__, "compact_dates": run.compact_dates ^ (self.rng.random() < 0.5)})
                written += 1
            index += 1

    def _also_listed(self, course: _Course) -> bool:
        """Whether another ministry could list this course too: a digital, classroom HRD-Net course."""
        return (
            course.feed.source == "hrdnet"
            and not self.hrdnet_only
            and course.mode != "remote"
            and course.topics[0].area in ("it", "industry", "design")
        )

    def _feed(self, index: int) -> Feed:
        if self.hrdnet_only:
            return FEEDS[0]
        if index < len(FEEDS):  # every source has at least one course, however small the demo
            return FEEDS[index]
        return self.rng.choices(FEEDS, [feed.share for feed in FEEDS])[0]

    def _course(self, index: int) -> _Course:
        rng = self.rng
        feed = self._feed(index)
        programme = rng.choices([p for p, _ in feed.programmes], [w for _, w in feed.programmes])[0]
        if index < len(self.providers):  # every provider has at least one course
            provider = self.providers[index]
        else:
            provider = self.providers[bisect(self.provider_cum, rng.random() * self.provider_cum[-1])]
        mode, hours, days, fee = _course_amounts(rng, programme)
        weekend = "unknown" if rng.random() < 0.55 else rng.choices(("weekday", "weekend", "mixed"), (60, 28, 12))[0]
        if mode == "remote":
            weekend = "unknown"
        taken = self.titles.setdefault(provider.index, set())
        entity_title = feed.source == "hrdnet" and rng.random() < 0.02
        for _attempt in range(20):
            topics = self._topics(programme)
            title, core = _title(rng, programme, topics, weekend, mode, entity_title)
            key = matching.normalise_title(title)
            if key and key not in taken:
                break
        else:
            title = core = f"{title} {len(taken) + 1}단계"
            key = matching.normalise_title(title)
        taken.add(key)
        first = topics[0]
        ncs = rng.choice(first.ncs) if first.ncs and rng.random() < 0.93 else None
        self.counters[feed.source] += rng.randint(1, 40)
        serial = self.counters[feed.source]
        year = self.anchor.year - rng.choice((0, 0, 1, 1, 2, 3))
        course_id = f"AIG{year}{serial:010d}" if feed.source == "hrdnet" else f"{feed.course_prefix}{year}{serial:06d}"
        has_history = rng.random() < 0.6
        satisfaction = round(rng.uniform(72, 99.5), 1) if has_history and rng.random() < 0.75 else None
        employment: tuple[float | None, float | None, int | None] = (None, None, None)
        if has_history and programme not in FREE_PROGRAMMES | REMOTE_PROGRAMMES and rng.random() < 0.6:
            rate3 = round(rng.uniform(8, 85), 1) if rng.random() < 0.7 else 0.0
            rate6 = min(100.0, round(rate3 + rng.uniform(0, 15), 1)) if rate3 else rng.choice((0.0, None))
            employment = (rate3, rate6, rng.randint(1, 6) if rng.random() < 0.3 else rng.randint(1, 25))
        sentences = rng.sample(CONTENT_SENTENCES[first.area] + CONTENT_SENTENCES["any"], rng.randint(2, 4))
        contents = (
            " ".join(s.format(t=rng.choice(first.names), r=rng.choice(first.roles)) for s in sentences)
            if rng.random() < 0.65
            else None
        )
        return _Course(
            feed=feed,
            course_id=course_id,
            provider=provider,
            programme=programme,
            title=title,
            entity_title=entity_title,
            ncs=ncs,
            mode=mode,
            weekend=weekend,
            hours=hours,
            days=days,
            fee=fee,
            capacity=rng.randint(15, 40),
            contents=contents,
            certificate=", ".join(rng.sample(first.certificates, min(len(first.certificates), rng.randint(1, 2))))
            if first.certificates and rng.random() < 0.5
            else None,
            keywords=",".join(dict.fromkeys(t.key for t in topics)),
            satisfaction=satisfaction,
            satisfaction_scale=10_000 if rng.random() < 0.2 else 100,
            employment=employment,
            title_core=core,
            topics=topics,
        )

    def _topics(self, programme: str) -> tuple[Topic, Topic]:
        rng = self.rng
        if programme == "C0031F":
            return TOPICS[-2], TOPICS[-2]
        if programme == "C0031C":
            return TOPICS[-1], TOPICS[-1]
        while True:
            first = TOPICS[bisect(self.topic_cum, rng.random() * self.topic_cum[-1])]
            if first.area in ("language", "care"):
                continue
            if (
                programme in ("C0104", "MSIT-SWA", "MSIT-AIC", "C0105")
                and first.area in ("office",)
                and rng.random() < 0.8
            ):
                continue
            second = TOPICS[bisect(self.topic_cum, rng.random() * self.topic_cum[-1])]
            if second.area != first.area:
                second = first
            return first, second

    def _runs(self, course: _Course) -> list[_Run]:
        rng = self.rng
        programme = course.programme
        if programme == "C0104" or programme in FREE_PROGRAMMES - {"MOE-LLL"}:
            count = rng.choices((1, 2, 3, 4, 5), (25, 30, 25, 12, 8))[0]
        elif course.mode == "remote":
            count = rng.randint(2, 8)
        else:
            count = rng.choices(range(1, 11), (14, 16, 14, 12, 10, 9, 8, 7, 5, 5))[0]
        offsets = sorted(_start_offset(rng) for _ in range(count))
        first_number = rng.randint(1, 25) if rng.random() < 0.6 else 1
        compact = rng.random() < 0.25
        region = course.provider.region_code
        runs = []
        for n, offset in enumerate(offsets):
            start = self.anchor + timedelta(days=offset)
            start = _align(start, course.weekend)
            end = start + timedelta(days=_calendar_days(course))
            fee = course.fee
            support = None if fee == 0 else fee
            if support and rng.random() < 0.15:
                support = _round(fee * rng.uniform(0.8, 0.97))  # the provider charges more than is approved
            self_pay = None
            if programme in GENERAL_CARD and fee:
                self_pay = _round(fee * rng.choice((0.15, 0.2, 0.3, 0.4, 0.45, 0.55)))
            elif programme in CAPPED_PROGRAMMES and rng.random() < 0.5:
                self_pay = 0
            actual = fee if rng.random() < 0.75 else (_round(fee * rng.uniform(1.0, 1.3)) if rng.random() < 0.8 else 0)
            capacity = course.capacity
            enrolled = _enrolled(rng, capacity, past=offset < 0)
            run_region = region
            olds = self.regions.old_codes.get(region)
            if olds and rng.random() < OLD_CODE_SHARE:
                run_region = rng.choice(olds)
            if self.churn and self.churn_rng.random() < self.churn:
                enrolled = min(capacity, enrolled + self.churn_rng.randint(1, 3))
                if self.churn_rng.random() < 0.2 and fee:
                    fee = _round(fee * 1.05)
            runs.append(
                _Run(
                    course=course,
                    number=first_number + n,
                    start=start,
                    end=end,
                    fee=fee,
                    actual_cost=actual,
                    support=support,
                    self_pay=self_pay,
                    capacity=capacity,
                    enrolled=enrolled,
                    region_code=run_region,
                    compact_dates=compact ^ (rng.random() < 0.1),
                )
            )
        return runs

    def _cross_listing(self, course: _Course, course_runs: list[_Run]) -> tuple[Feed, list[_Run]]:
        rng = self.rng
        feed = rng.choice(FEEDS[1:4])
        programme = feed.programmes[0][0]
        self.counters[feed.source] += rng.randint(1, 40)
        ncs = course.ncs
        if ncs and rng.random() < 0.3:
            ncs = None  # the other ministry leaves it blank
        elif ncs and rng.random() < 0.3:
            ncs = rng.choice(self.siblings.get(ncs[:4], [ncs]))
        other = _Course(
            **{
                **course.__dict__,
                "feed": feed,
                "programme": programme,
                "ncs": ncs,
                "course_id": f"{feed.course_prefix}{self.anchor.year}{self.counters[feed.source]:06d}",
                "title": _variant(rng, course, programme),
                "entity_title": False,
            }
        )
        shared = course_runs[: rng.randint(1, min(2, len(course_runs)))]
        free = programme in FREE_PROGRAMMES  # the ministry pays the provider: free to the learner
        return feed, [
            _Run(
                **{
                    **run.__dict__,
                    "course": other,
                    "number": n + 1,
                    "region_code": course.provider.region_code,
                    "compact_dates": False,
                    "broken": "",
                    **({"fee": 0, "actual_cost": 0, "support": None, "self_pay": None} if free else {}),
                }
            )
            for n, run in enumerate(shared)
        ]

    def provider_id(self, feed: Feed, provider: _Provider) -> str:
        if feed.source == "hrdnet":
            return provider.hrdnet_id
        return f"{feed.provider_prefix}{provider.index + 1:05d}"


def _start_offset(rng: Random) -> int:
    """Days from the anchor to a run's start. Application windows open about 60 days before the start
    (courses/data/application_windows.toml), so on any day of the anchor's month: about 30 % of the runs have
    started before the month (훈련 중, or 종료 for short ones), half start within two months (most of them
    모집 중 on the day of loading, the first ones already under way), and the rest start up to eight months
    ahead (모집 예정)."""
    roll = rng.random()
    if roll < 0.3:
        return rng.randint(-150, -1)
    if roll < 0.8:
        return rng.randint(0, 60)
    return rng.randint(61, 240)


def _enrolled(rng: Random, capacity: int, *, past: bool) -> int:
    """The feed's enrolment count: started runs are mostly full; of the others a few are full (마감 before
    the start), a few have five seats or fewer left (마감 임박), a quarter have nobody yet."""
    if past:
        return rng.randint(capacity * 2 // 5, capacity)
    roll = rng.random()
    if roll < 0.07:
        return capacity
    if roll < 0.15:
        return capacity - rng.randint(1, 5)
    if roll < 0.4:
        return 0
    return rng.randint(0, max(1, capacity * 3 // 5))


def _align(start: date, weekend: str) -> date:
    """Runs start on a Monday (weekday courses) or a Saturday (weekend courses)."""
    target = 5 if weekend == "weekend" else 0
    return start + timedelta(days=(target - start.weekday()) % 7)


def _calendar_days(course: _Course) -> int:
    """From the first to the last training day: remote courses run a fixed period, classroom ones by the week."""
    if course.mode == "remote":
        return course.days - 1
    per_week, last_day = {"weekend": (2, 1), "mixed": (3, 5)}.get(course.weekend, (5, 4))
    return (math.ceil(course.days / per_week) - 1) * 7 + last_day


# -- writers ------------------------------------------------------------------------------------------


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _date(value: date, compact: bool) -> str:
    return value.strftime("%Y%m%d") if compact else value.isoformat()


def _xml_fields(run: _Run, generator: _Generator) -> dict[str, str]:
    """One run as the HRD-Net list feed sends it: its field texts before XML escaping, by field name."""
    course, provider, rng = run.course, run.course.provider, generator.rng
    title = html.escape(course.title, quote=False) if course.entity_title else course.title
    start, end = _date(run.start, run.compact_dates), _date(run.end, run.compact_dates)
    course_id = course.course_id
    if run.broken == "no-id":
        course_id = ""
    elif run.broken == "bad-date":
        start = rng.choice(("2026-02-30", "미정", "20261345", "0000-00-00"))
    satisfaction = course.satisfaction
    if satisfaction is not None and course.satisfaction_scale == 10_000:
        satisfaction = int(round(satisfaction * 100))
    rate3, rate6, count3 = course.employment
    link = (
        f"https://www.work24.go.kr/hr/a/a/3100/selectTracseDetl.do?tracseId={course_id}&tracseTme={run.number}"
        f"&crseTracseSe={course.programme}&trainstCstmrId={provider.hrdnet_id}"
    )
    return {
        "address": provider.address,
        "certificate": course.certificate or "",
        "contents": course.contents or "",
        "courseMan": str(run.fee),
        "eiEmplCnt3": _number(count3) if rate3 is not None else "",
        "eiEmplRate3": _number(rate3),
        "eiEmplRate6": _number(rate6),
        "grade": ("", "", "3년인증", "1년인증", "5년인증", "")[provider.index % 6],  # the provider's rating
        "instCd": provider.inst_code,
        "instPerTrco": str(run.support or 0),
        "ncsCd": course.ncs or rng.choice(("", "", "0")),
        "perTrco": _number(run.support),
        "realMan": _number(run.actual_cost),
        "regCourseMan": str(run.enrolled),
        "stdgScor": _number(satisfaction) if satisfaction is not None else rng.choice(("", "0")),
        "subTitle": provider.name,
        "subTitleLink": f"https://www.work24.go.kr/hr/a/a/1100/trnnCrsInf.do?trainstCstmrId={provider.hrdnet_id}",
        "telNo": provider.phone,
        "tgcrGnrlTrneOwepAllt": _number(run.self_pay),
        "title": title,
        "titleIcon": "1" if course.course_id.endswith(("3", "7")) else "",
        "titleLink": link,
        "traEndDate": end,
        "traStartDate": start,
        "trDcnt": str(course.days),
        "trainTarget": _programme_name(course.programme),
        "trainTargetCd": course.programme,
        "trainstCstId": provider.hrdnet_id,
        "trngAreaCd": run.region_code,
        "trprDegr": str(run.number),
        "trprId": course_id,
        "trtm": str(course.hours),
        "srchTraGbn": HRDNET_KIND.get(course.mode, ""),
        "wkendSe": WEEKEND_CODE[course.weekend],
        "yardMan": str(run.capacity),
    }


class _XmlWriter:
    """The HRD-Net list response: one `scn_list` per run, fields alphabetical, count up front."""

    def __init__(self, path: Path, generator: _Generator):
        self.path, self.generator = path, generator
        self.body_path = path.with_name(path.name + ".part")
        self.body = self.body_path.open("w", encoding="utf-8", newline="\n")
        self.count = 0

    def write(self, run: _Run) -> None:
        fields = _xml_fields(run, self.generator)
        parts = ["<scn_list>"]
        for name in sorted(fields, key=str.lower):
            value = fields[name]
            parts.append(f"<{name}>{_xml_text(value)}</{name}>" if value else f"<{name}/>")
        parts.append("</scn_list>\n")
        self.body.write("".join(parts))
        self.count += 1

    def close(self) -> None:
        self.body.close()
        with self.path.open("wb") as out:
            out.write(
                '<?xml version="1.0" encoding="UTF-8"?>\n<HRDNet>'
                f"<scn_cnt>{self.count}</scn_cnt><pageNum>1</pageNum><pageSize>{self.count}</pageSize>"
                "<srchList>\n".encode()
            )
            with self.body_path.open("rb") as body:
                shutil.copyfileobj(body, out, 1 << 18)
            out.write(b"</srchList></HRDNet>\n")
        self.body_path.unlink()


def _generic_row(run: _Run, generator: _Generator, *, csv_export: bool) -> dict:
    course, provider, rng = run.course, run.course.provider, generator.rng
    ncs = course.ncs
    if csv_export and ncs and ncs.startswith("0") and rng.random() < 0.7:
        ncs = ncs.lstrip("0")  # a spreadsheet took it for a number
    rate3, rate6, count3 = course.employment
    satisfaction = course.satisfaction
    start, end = _date(run.start, run.compact_dates), _date(run.end, run.compact_dates)
    course_id = course.course_id
    if run.broken == "no-id":
        course_id = ""
    elif run.broken == "bad-date":
        start = rng.choice(("2026-02-30", "미정", "2026.13.01"))
    name = provider.name
    if name.startswith("(주)") and (provider.index + len(course.feed.source)) % 2:
        name = "주식회사 " + name.removeprefix("(주)")  # each ministry writes the legal form its own way
    return {
        "course_id": course_id,
        "run_number": run.number,
        "title": course.title,
        "provider_name": name,
        "provider_id": generator.provider_id(course.feed, provider),
        "start_date": start,
        "end_date": end,
        "fee": run.fee,
        "capacity": run.capacity,
        "programme_code": course.programme,
        "source_enrolled": run.enrolled,
        "actual_cost": run.actual_cost,
        "support_amount": run.support,
        "general_self_pay": run.self_pay,
        "ncs_code": ncs,
        "region_code": run.region_code,
        "address": provider.address,
        "phone": provider.phone,
        "business_number": provider.business_number,
        "contents": course.contents,
        "certificate": course.certificate,
        "keywords": course.keywords,
        "url": None,
        "weekend": course.weekend,
        "mode": course.mode,
        "hours": course.hours,
        "days": course.days,
        "satisfaction": satisfaction,
        "employment_rate_3m": rate3,
        "employment_rate_6m": rate6,
        "employment_count_3m": count3 if rate3 is not None else None,
    }


class _CsvWriter:
    def __init__(self, path: Path, generator: _Generator):
        self.generator = generator
        self.handle = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow(GENERIC_COLUMNS)

    def write(self, run: _Run) -> None:
        row = _generic_row(run, self.generator, csv_export=True)
        self.writer.writerow(
            [
                "" if row[name] is None else _number(row[name]) if isinstance(row[name], float) else row[name]
                for name in GENERIC_COLUMNS
            ]
        )

    def close(self) -> None:
        self.handle.close()


class _JsonWriter:
    """A JSON array (``.json``) or JSON Lines (``.jsonl``), one object at a time."""

    def __init__(self, path: Path, generator: _Generator):
        self.generator = generator
        self.lines = path.suffix == ".jsonl"
        self.handle = path.open("w", encoding="utf-8", newline="\n")
        self.first = True
        if not self.lines:
            self.handle.write("[\n")

    def write(self, run: _Run) -> None:
        text = json.dumps(_generic_row(run, self.generator, csv_export=False), ensure_ascii=False)
        if self.lines:
            self.handle.write(text + "\n")
        else:
            self.handle.write(text if self.first else ",\n" + text)
        self.first = False

    def close(self) -> None:
        if not self.lines:
            self.handle.write("\n]\n")
        self.handle.close()


_PROGRAMME_NAMES: dict[str, str] = {}


def _programme_name(code: str) -> str:
    if not _PROGRAMME_NAMES:
        _PROGRAMME_NAMES.update({row["code"]: row["name"] for row in read_csv("programmes.csv")})
    return _PROGRAMME_NAMES.get(code, "")


# -- public API ---------------------------------------------------------------------------------------


def default_anchor() -> date:
    """The first day of the current month in KST: a demo stays the same all month."""
    from hrdnet.timeutil import kst_today

    return kst_today().replace(day=1)


def generate(
    out_dir: Path, *, runs: int, seed: int, anchor: date, churn: float = 0.0, hrdnet_only: bool = False
) -> list[tuple[Path, str, str]]:
    """Write the demo feeds into out_dir; returns (path, importer format, source) in import order.

    churn: the share of runs whose enrolment count (and sometimes fee) moved, as a later download of the
    same feed would show; 0 for the demo, 0.1 for the benchmark's "10 % changed" file. hrdnet_only puts
    every course into the HRD-Net XML feed (the benchmark's single-file case).
    """
    if runs < 1:
        raise ValueError("runs must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    generator = _Generator(runs=runs, seed=seed, anchor=anchor, churn=churn, hrdnet_only=hrdnet_only)
    writers: dict[str, _XmlWriter | _CsvWriter | _JsonWriter] = {}
    paths: dict[str, Path] = {}
    try:
        for feed, run in generator.records():
            writer = writers.get(feed.source)
            if writer is None:
                paths[feed.source] = out_dir / feed.file_name
                cls = {"hrdnet-xml": _XmlWriter, "csv": _CsvWriter, "json": _JsonWriter}[feed.fmt]
                writer = writers[feed.source] = cls(paths[feed.source], generator)
            writer.write(run)
    finally:
        for writer in writers.values():
            writer.close()
    return [(paths[feed.source], feed.fmt, feed.source) for feed in FEEDS if feed.source in paths]


def load(
    *, runs: int, seed: int, anchor: date | None = None, progress: Callable[[int, int], None] | None = None
) -> list[ImportResult]:
    """Generate the demo feeds and import them (actor "demo"); idempotent for the same (runs, seed, anchor).

    progress(done_bytes, total_bytes) follows the import pass over all files together. A demo of another size
    replaces the previous one: runs it no longer lists are marked "not seen since" (allow_shrink), never
    deleted.
    """
    from courses.ingest.importer import import_file

    anchor = anchor or default_anchor()
    results = []
    with tempfile.TemporaryDirectory(prefix="hrdnet-demo-") as folder:
        feeds = generate(Path(folder), runs=runs, seed=seed, anchor=anchor)
        sizes = [path.stat().st_size for path, _fmt, _source in feeds]
        total, done = sum(sizes), 0
        for (path, fmt, source), size in zip(feeds, sizes, strict=True):

            def advance(offset: int, base: int = done) -> None:
                if progress:
                    progress(base + offset, total)

            results.append(import_file(path, fmt, source=source, actor=DEMO_ACTOR, allow_shrink=True, progress=advance))
            done += size
            if progress:
                progress(done, total)
    return results


def records(*, runs: int, seed: int, anchor: date) -> Iterator[tuple[Feed, FeedRecord | Rejection]]:
    """The records the importer's parsers read from generate()'s files, without writing or parsing them.

    Each run goes through the same field texts (the HRD-Net feed's, or the generic row as the CSV or JSON
    file carries it) and the same parser functions (hrdnet_xml.build, validate.build_record), drawing the
    same random numbers in the same order, so the records equal those of the files, in file order, broken
    and repeated ones included; only the rejections' positions say "record N" without a line number.
    """
    from courses.ingest import hrdnet_xml
    from courses.ingest.validate import build_record

    generator = _Generator(runs=runs, seed=seed, anchor=anchor, churn=0.0, hrdnet_only=False)
    counts = {feed.source: 0 for feed in FEEDS}
    for feed, run in generator.records():
        counts[feed.source] += 1
        position = f"record {counts[feed.source]}"
        if feed.fmt == "hrdnet-xml":
            yield feed, hrdnet_xml.build(_xml_fields(run, generator), position)
        elif feed.fmt == "csv":
            row = _generic_row(run, generator, csv_export=True)
            texts = {
                name: "" if v is None else _number(v) if isinstance(v, float) else str(v) for name, v in row.items()
            }
            yield feed, build_record(texts, position=position)
        else:
            yield feed, build_record(_generic_row(run, generator, csv_export=False), position=position)


def load_records(*, runs: int, seed: int, anchor: date | None = None) -> list[ImportResult]:
    """The demo catalog imported straight from records(): what load() imports, without the feed files.

    For an empty catalog (the search benchmark's national-scale catalogue): the same importer
    (import_records: matching, provenance, batches) takes the records, HRD-Net's first as in load(), but
    with no file there is no dry pass, no covered range and so no "not seen since" marking; about three
    times faster than load(), most of which is writing and parsing (twice) the HRD-Net XML.
    """
    from courses.ingest.importer import import_records

    anchor = anchor or default_anchor()
    later: dict[str, list[FeedRecord | Rejection]] = {feed.source: [] for feed in FEEDS[1:]}

    def first_feed() -> Iterator[FeedRecord | Rejection]:
        for feed, item in records(runs=runs, seed=seed, anchor=anchor):
            if feed is FEEDS[0]:
                yield item
            else:
                later[feed.source].append(item)

    def imported(feed: Feed, items: Iterable[FeedRecord | Rejection]) -> ImportResult:
        return import_records(
            iter(items), source=feed.source, fmt=feed.fmt, actor=DEMO_ACTOR, range_from=None, range_to=None
        )

    results = [imported(FEEDS[0], first_feed())]
    for feed in FEEDS[1:]:
        results.append(imported(feed, later.pop(feed.source)))
    return results


def summary_lines(results: list[ImportResult]) -> Iterator[str]:
    """One short line per source: created / updated / unchanged / rejected."""
    for result in results:
        yield (
            f"  {result.source:<14} 새 회차 {result.created:>7,} · 바뀜 {result.updated:>6,} · "
            f"그대로 {result.unchanged:>7,} · 거부 {result.rejected:>4,}"
            + (f" · 목록에서 빠짐 {result.marked_missing:,}" if result.marked_missing else "")
        )


# -- other domains' demo data ------------------------------------------------------------------------------------
# The demo loader (vouchers.demo) runs in the voucher domain, which must not import search; a domain beside it
# registers what it adds for the demo learner here (the app factory wires it) and the loader runs each step.

DemoStep = Callable[[int], Iterable[str]]
DEMO_STEPS_EXTENSION = "courses.demo_steps"


def register_demo_step(app, step: DemoStep) -> None:
    """Install `step(demo_learner_user_id) -> lines to print`; idempotent steps, run after the demo accounts."""
    app.extensions.setdefault(DEMO_STEPS_EXTENSION, []).append(step)


def demo_steps() -> list[DemoStep]:
    from flask import current_app

    return list(current_app.extensions.get(DEMO_STEPS_EXTENSION, []))
