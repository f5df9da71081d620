"""Feed parsers: HRD-Net XML, generic CSV and generic JSON → FeedRecord | Rejection (courses/ingest/).

Pure parsing: no app, no database. The format and every field's blank/0 meaning are in docs/feeds.md;
sample files live in tests/courses/feeds/.
"""

from __future__ import annotations

import io
import json
import random
import time
import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from courses.ingest import generic_csv, generic_json, hrdnet_xml, validate
from courses.ingest.records import FeedRecord, FeedUnreadable, Rejection
from tests.support.feed_files import (
    BASE,
    child_peak_rss_kib,
    scn,
    traced_peak,
    write_csv,
    write_json_array,
    write_json_lines,
    write_xml,
)

FEEDS = Path(__file__).parent / "feeds"
MiB = 1 << 20


def feed(*records: str, encoding: str = "UTF-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<HRDNet>\n<scn_cnt>{len(records)}</scn_cnt>\n'
        f"<pageNum>1</pageNum>\n<pageSize>100</pageSize>\n<srchList>\n" + "".join(records) + "</srchList>\n</HRDNet>\n"
    ).encode(encoding)


def parse_xml(data: bytes) -> list[FeedRecord | Rejection]:
    return list(hrdnet_xml.parse(io.BytesIO(data), source="test"))


def parse_broken(parse, data: bytes) -> tuple[list, FeedUnreadable]:
    """What a parser yields before it raises FeedUnreadable, and the exception."""
    items = []
    with pytest.raises(FeedUnreadable) as info:
        for item in parse(io.BytesIO(data), source="test"):
            items.append(item)
    return items, info.value


def one(data: bytes) -> FeedRecord | Rejection:
    items = parse_xml(data)
    assert len(items) == 1
    return items[0]


def record(**fields) -> FeedRecord:
    item = one(feed(scn(**fields)))
    assert isinstance(item, FeedRecord), item
    return item


def rejection(**fields) -> Rejection:
    item = one(feed(scn(**fields)))
    assert isinstance(item, Rejection), item
    return item


# -- HRD-Net XML: the sample ------------------------------------------------------------------------------


def test_sample_feed_maps_every_field():
    with (FEEDS / "hrdnet_sample.xml").open("rb") as handle:
        first, second, third = hrdnet_xml.parse(handle, source="test")
    assert first == FeedRecord(
        position="record 1 (line 7)",
        course_id="AIG20250000524076",
        run_number=3,
        title="[KDT] 클라우드 & MSA 기반 백엔드 개발자 <Java/Spring> 과정",
        provider_name="(주)멀티캠퍼스",
        provider_id="500020023456",
        start_date=date(2025, 4, 7),
        end_date=date(2025, 9, 30),
        fee=9_855_000,
        capacity=30,
        programme_code="C0104",
        source_enrolled=12,
        actual_cost=9_855_000,
        ncs_code="20010202",
        region_code="11680",
        address="서울특별시 강남구 테헤란로 146 (역삼동) 현익빌딩 3,4층",
        phone="02-6262-9999",
        contents="클라우드 네이티브 백엔드 개발자 양성",
        url="https://www.work24.go.kr/hr/a/a/3100/selectTracseDetl.do?tracseId=AIG20250000524076&tracseTme=3",
        weekend="weekday",
        satisfaction=93.5,
    )
    assert first.extra["trainTarget"] == "K-디지털 트레이닝" and first.extra["instCd"] == "500020023456"
    assert first.key == "AIG20250000524076:3"
    # YYYYMMDD dates, a 7-digit NCS code, an old Gwangju code, blanks and 0 for unknown
    assert (second.start_date, second.end_date) == (date(2025, 3, 3), date(2025, 6, 30))
    assert (second.ncs_code, second.region_code) == ("02010201", "12210")
    assert (second.capacity, second.source_enrolled, second.actual_cost) == (0, 0, None)
    assert (second.employment_rate_3m, second.employment_rate_6m, second.employment_count_3m) == (58.3, 66.7, 7)
    assert (second.satisfaction, second.weekend, second.url) == (88.5, "unknown", None)
    # fee 0 is a real (free) fee; a split Incheon district maps to its 시·도; M1014 smart blended → blended
    assert (third.fee, third.ncs_code, third.satisfaction, third.region_code) == (0, None, None, "28")
    assert (third.mode, third.weekend, third.programme_code) == ("blended", "mixed", "C0054Y")


def test_fields_in_any_order_give_the_same_record():
    alphabetical = record()
    names = sorted(BASE)
    random.Random(7).shuffle(names)
    shuffled = one(feed(scn(order=names)))
    assert names != sorted(BASE)
    assert shuffled == alphabetical


def test_duplicated_runs_are_both_yielded():
    """The parser does not judge duplicates: the importer does (docs/feeds.md)."""
    first, second = parse_xml(feed(scn(), scn(title="다른 제목")))
    assert first.key == second.key == "AIG20250000000001:1"
    assert (first.title, second.title) == ("테스트 과정", "다른 제목")
    assert (first.position, second.position) == ("record 1 (line 7)", "record 2 (line 27)")


def test_empty_feed_is_zero_records_not_an_error():
    assert parse_xml(feed()) == []
    assert (
        parse_xml(b"<HRDNet><scn_cnt>0</scn_cnt><pageNum>1</pageNum><pageSize>100</pageSize><srchList/></HRDNet>") == []
    )
    assert parse_xml(b"<?xml version='1.0'?><HRDNet/>") == []


# -- text ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("R&amp;D 실무", "R&D 실무"),
        ("클라우드 &amp;amp; AI", "클라우드 & AI"),  # double-escaped, as real feeds send
        ("&amp;amp;amp;lt;심화&amp;amp;amp;gt;", "<심화>"),  # any depth
        ("&amp;lt;b&amp;gt;빅데이터&amp;lt;/b&amp;gt; 분석", "빅데이터 분석"),  # real HTML tags go
        ("&lt;AI&gt; 엔지니어", "<AI> 엔지니어"),  # not an HTML tag: kept
        ("Java&amp;#39;s &#xAC00;&amp;#44032;", "Java's 가가"),
        ("노트북&amp;notebook R&amp;reg", "노트북&notebook R&reg"),  # no semicolon: not an entity
        ("  여러   칸\n\t공백&amp;nbsp;정리  ", "여러 칸 공백 정리"),
        ("줄<![CDATA[바꿈 <b>굵게</b>]]>", "줄바꿈 굵게"),
    ],
)
def test_html_entities_are_decoded_until_stable(raw, title):
    assert record(title=raw).title == title


def test_contents_keep_line_breaks():
    contents = "1주차: 파이썬&amp;lt;br&amp;gt;2주차: 판다스\n\n\n3주차:   시각화"
    assert record(contents=contents).contents == "1주차: 파이썬\n2주차: 판다스\n\n3주차: 시각화"


def test_title_of_only_tags_is_blank():
    assert "title: 값이 없습니다" in rejection(title="&amp;lt;br&amp;gt;").reason


@pytest.mark.parametrize(
    ("field", "limit"), [("title", 300), ("subTitle", 200), ("address", 300), ("telNo", 30), ("certificate", 300)]
)
def test_text_longer_than_its_column_rejects_the_record(field, limit):
    assert record(**{field: "가" * limit})
    refused = rejection(**{field: "가" * (limit + 1)})
    assert refused.reason == f"{field}: {limit + 1:,}자로 너무 깁니다 (최대 {limit:,}자)"
    assert refused.key == "AIG20250000000001:1"


# -- ids, numbers, dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trprId", "problem"),
    [
        ("", "trprId: 값이 없습니다"),
        ("AIG-2025-0001", "trprId: 영문자와 숫자만 쓸 수 있습니다: 'AIG-2025-0001'"),
        ("A" * 41, "trprId: 41자로 너무 깁니다 (최대 40자)"),
    ],
)
def test_course_id_is_required_letters_and_digits(trprId, problem):
    refused = rejection(trprId=trprId)
    assert refused.reason == problem and refused.key is None


@pytest.mark.parametrize(("trprDegr", "run"), [("0", 0), ("12", 12), ("007", 7)])
def test_run_number(trprDegr, run):
    assert record(trprDegr=trprDegr).run_number == run


@pytest.mark.parametrize(
    ("trprDegr", "problem"),
    [
        ("", "값이 없습니다"),
        ("-1", "0 이상이어야 합니다: -1"),
        ("3회", "정수가 아닙니다: '3회'"),
        ("99999999999", "값이 너무 큽니다: 99,999,999,999"),
    ],
)
def test_bad_run_number_rejects(trprDegr, problem):
    assert rejection(trprDegr=trprDegr).reason == f"trprDegr: {problem}"


@pytest.mark.parametrize(
    ("text", "won"),
    [("1,234,500", 1_234_500), ("0", 0), (" 15000 ", 15_000), ("15,000원", 15_000), ("15000.0", 15_000)],
)
def test_fee_accepts_thousands_separators(text, won):
    assert record(courseMan=text).fee == won


@pytest.mark.parametrize("text", ["", "1.234.500", "15,00", "1e6", "무료", "-5000", "１０００"])
def test_fee_is_required_and_a_whole_number(text):
    assert rejection(courseMan=text).reason.startswith("courseMan: ")


@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-04-01", "2025-06-30"), ("20250401", "20250630"), ("2025-04-01", "20250630"), (" 20250401 ", "2025-06-30")],
)
def test_both_date_formats(start, end):
    run = record(traStartDate=start, traEndDate=end)
    assert (run.start_date, run.end_date) == (date(2025, 4, 1), date(2025, 6, 30))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2025-02-30", "없는 날짜입니다: '2025-02-30'"),
        ("2025/04/01", "날짜 형식이 아닙니다 (YYYY-MM-DD 또는 YYYYMMDD): '2025/04/01'"),
        ("2025-4-1", "날짜 형식이 아닙니다 (YYYY-MM-DD 또는 YYYYMMDD): '2025-4-1'"),
        ("2025-W14-2", "날짜 형식이 아닙니다 (YYYY-MM-DD 또는 YYYYMMDD): '2025-W14-2'"),
        ("18991231", "날짜가 1990–2099년 밖입니다: '18991231'"),
        ("", "값이 없습니다"),
    ],
)
def test_bad_dates_reject(text, problem):
    assert rejection(traStartDate=text).reason == f"traStartDate: {problem}"


def test_end_before_start_rejects():
    refused = rejection(traStartDate="2025-06-30", traEndDate="2025-04-01")
    assert refused.reason == "traEndDate: 종료일(2025-04-01)이 시작일(2025-06-30)보다 앞섭니다"
    assert record(traStartDate="2025-04-01", traEndDate="20250401").end_date == date(2025, 4, 1)


def test_every_problem_of_a_record_is_named():
    refused = rejection(trprDegr="x", courseMan="", traEndDate="2025-13-01", eiEmplRate3="120")
    assert refused.key is None
    assert refused.reason == (
        "trprDegr: 정수가 아닙니다: 'x'; traEndDate: 없는 날짜입니다: '2025-13-01'; "
        "courseMan: 값이 없습니다; eiEmplRate3: 0–100 사이여야 합니다: 120"
    )


def test_a_broken_record_in_the_middle_rejects_only_itself():
    records = [scn(trprId=f"AIG2025000000000{i}", trprDegr=str(i)) for i in range(1, 6)]
    records[2] = scn(trprId="AIG20250000000003", trprDegr="3", traStartDate="2025-02-30")
    items = parse_xml(feed(*records))
    assert [type(item).__name__ for item in items] == ["FeedRecord"] * 2 + ["Rejection"] + ["FeedRecord"] * 2
    assert items[2] == Rejection(
        "record 3 (line 47)", "AIG20250000000003:3", "traStartDate: 없는 날짜입니다: '2025-02-30'"
    )
    assert [item.run_number for item in items if isinstance(item, FeedRecord)] == [1, 2, 4, 5]


# -- blanks and zeros ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "attribute", "value"),
    [
        # capacity and enrolment: unknown → 0 (nothing can be oversold)
        ("yardMan", "", "capacity", 0),
        ("yardMan", "0", "capacity", 0),
        (None, "yardMan", "capacity", 0),
        ("regCourseMan", "", "source_enrolled", 0),
        ("regCourseMan", "0", "source_enrolled", 0),
        # money: fee 0 is free; realMan 0 is unknown; self-pay 0 is real (KDT before 2026)
        ("courseMan", "0", "fee", 0),
        ("realMan", "", "actual_cost", None),
        ("realMan", "0", "actual_cost", None),
        ("tgcrGnrlTrneOwepAllt", "", "general_self_pay", None),
        ("tgcrGnrlTrneOwepAllt", "0", "general_self_pay", 0),
        ("tgcrGnrlTrneOwepAllt", "148,500", "general_self_pay", 148_500),
        ("perTrco", "0", "support_amount", None),
        ("perTrco", "", "support_amount", None),
        # outcomes: HRD-Net sends 0 until there is a result
        ("stdgScor", "0", "satisfaction", None),
        ("stdgScor", "", "satisfaction", None),
        ("eiEmplRate3", "0", "employment_rate_3m", None),
        ("eiEmplRate3", "0.0", "employment_rate_3m", None),
        ("eiEmplRate3", "", "employment_rate_3m", None),
        ("eiEmplRate3", "37.5", "employment_rate_3m", 37.5),
        ("eiEmplRate6", "0", "employment_rate_6m", None),
        ("eiEmplRate6", "100", "employment_rate_6m", 100.0),
        ("eiEmplCnt3", "0", "employment_count_3m", None),
        ("eiEmplCnt3", "4", "employment_count_3m", 4),
        ("trtm", "0", "hours", None),
        ("trtm", "960", "hours", 960),
        ("trDcnt", "", "days", None),
        ("trDcnt", "0", "days", None),
        ("trDcnt", "120", "days", 120),
        # codes: 0 / blank unknown
        ("ncsCd", "", "ncs_code", None),
        ("ncsCd", "0", "ncs_code", None),
        ("ncsCd", "00000000", "ncs_code", None),
        ("trngAreaCd", "", "region_code", None),
        ("trngAreaCd", "0", "region_code", None),
        ("trainTargetCd", "", "programme_code", None),
        ("trainTargetCd", "0", "programme_code", None),
        ("telNo", "", "phone", None),
        ("address", "   ", "address", None),
        ("titleLink", "", "url", None),
    ],
)
def test_blank_and_zero(field, text, attribute, value):
    run = record(**({text: None} if field is None else {field: text}))
    assert getattr(run, attribute) == value


def test_support_amount_is_per_trco_and_inst_per_trco_is_the_actual_cost():
    """The OpenAPI's detail: perTrco 정부지원금 (approved support), instPerTrco 실제 훈련비 (actual cost)."""
    run = record(perTrco="1,200,000", instPerTrco="1,500,000", realMan="")
    assert (run.support_amount, run.actual_cost) == (1_200_000, 1_500_000)
    run = record(perTrco="0", instPerTrco="0", realMan="0")
    assert (run.support_amount, run.actual_cost) == (None, None)
    assert record(instPerTrco="900000", realMan="1000000").actual_cost == 1_000_000  # realMan first
    assert rejection(perTrco="약 백만원").reason == "perTrco: 정수가 아닙니다: '약 백만원'"
    assert rejection(instPerTrco="-5", realMan="0").reason == "instPerTrco: 0 이상이어야 합니다: -5"


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("9250", 92.5),
        ("92.5", 92.5),
        ("10000", 100.0),
        ("100", 100.0),
        ("8833", 88.33),
        ("4.5", 4.5),
        ("0", None),
        ("", None),
    ],
)
def test_satisfaction_on_a_100_or_10000_scale(text, score):
    assert (
        record(stdgScor=text).satisfaction == pytest.approx(score)
        if score
        else record(stdgScor=text).satisfaction is None
    )


@pytest.mark.parametrize("text", ["15000", "-3", "높음"])
def test_impossible_satisfaction_rejects(text):
    assert rejection(stdgScor=text).reason.startswith("stdgScor: ")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("20010101", "20010101"),
        ("2010201", "02010201"),  # a CSV copy lost the leading zero
        ("20", "20"),
        ("2001", "2001"),
        ("200101", "200101"),
        ("01", "01"),
        ("99999999", "99999999"),  # well formed but not in our list: kept
    ],
)
def test_ncs_code(text, code):
    assert record(ncsCd=text).ncs_code == code


@pytest.mark.parametrize("text", ["123", "200101011", "2001-01", "NCS"])
def test_malformed_ncs_code_rejects(text):
    assert rejection(ncsCd=text).reason.startswith("ncsCd: ")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("11680", "11680"),  # 강남구: current
        ("29110", "12210"),  # 광주 동구 → 전남광주통합특별시 동구
        ("46110", "12110"),  # 목포시
        ("42110", "51110"),  # 강원 춘천 → 강원특별자치도
        ("28260", "28"),  # 인천 서구, split into 서해구 and 검단구: only the 시·도 is certain
        ("28110", "28"),  # 인천 중구, split into 제물포구 and 영종구
        ("11", "11"),
        ("29", "12"),  # 시·도 codes too
        ("99999", "99999"),  # unknown but well formed: kept
    ],
)
def test_region_code_maps_old_codes(text, code):
    assert record(trngAreaCd=text).region_code == code


@pytest.mark.parametrize("text", ["1168", "116800", "서울"])
def test_malformed_region_code_rejects(text):
    assert rejection(trngAreaCd=text).reason.startswith("trngAreaCd: ")


@pytest.mark.parametrize(
    ("text", "weekend"),
    [
        ("1", "weekend"),
        ("2", "mixed"),
        ("3", "weekday"),
        ("9", "unknown"),
        ("", "unknown"),
        ("7", "unknown"),
        (None, "unknown"),
    ],
)
def test_weekend(text, weekend):
    assert record(wkendSe=text).weekend == weekend


@pytest.mark.parametrize(
    ("fields", "mode"),
    [
        ({"srchTraGbn": "M1001"}, "classroom"),
        ({"srchTraGbn": "M1005"}, "remote"),
        ({"srchTraGbn": "M1010"}, "blended"),
        ({"srchTraGbn": "M1014"}, "blended"),
        ({"trngKind": "M1005"}, "remote"),
        ({"trainTarget": "M1001"}, "classroom"),
        ({"trainTarget": "국민내일배움카드(일반)"}, "unknown"),
        ({"srchTraGbn": "M9999"}, "unknown"),
        ({}, "unknown"),
    ],
)
def test_mode(fields, mode):
    assert record(**fields).mode == mode


def test_programme_code_from_train_target_cd_or_crse_tracse_se():
    assert record(trainTargetCd="C0104").programme_code == "C0104"
    assert record(trainTargetCd=None, crseTracseSe="C0105").programme_code == "C0105"
    assert record(trainTargetCd="C0104", crseTracseSe="C0105").programme_code == "C0104"
    assert record(trainTargetCd="0", crseTracseSe="C0105").programme_code == "C0105"


def test_url_must_be_http():
    assert record(titleLink="https://www.work24.go.kr/x?a=1&amp;amp;b=2").url == "https://www.work24.go.kr/x?a=1&b=2"
    assert rejection(titleLink="javascript:alert(1)").reason.startswith("titleLink: http:// 또는 https://")


# -- broken files -------------------------------------------------------------------------------------------


def test_truncated_xml_yields_what_came_before_then_refuses():
    data = feed(*(scn(trprDegr=str(i)) for i in range(1, 5)))
    cut = data[: data.index(b"<trprDegr>4<") - 100]  # inside the fourth run
    items, error = parse_broken(hrdnet_xml.parse, cut)
    *records, broken = items
    assert [item.run_number for item in records] == [1, 2, 3]
    assert isinstance(broken, Rejection) and broken.key is None
    assert broken.position.startswith("line ") and "파일이 line" in broken.reason and "끊겼습니다" in broken.reason
    assert "record 4" in broken.reason
    assert "끊겼습니다" in str(error) and "3개" in str(error)


def test_broken_markup_in_the_middle_is_a_break_too():
    data = feed(scn(trprDegr="1"), scn(trprDegr="2").replace("</title>", "</titel>"), scn(trprDegr="3"))
    items, error = parse_broken(hrdnet_xml.parse, data)
    assert [type(item) for item in items] == [FeedRecord, Rejection]
    assert items[1].position == "line 36" and "mismatch" in items[1].reason  # the <title> of run 2
    assert "line 36" in str(error)


def test_break_before_any_record_is_unreadable_at_once():
    items, error = parse_broken(hrdnet_xml.parse, feed(scn())[:250])
    assert items == [] and "XML을 읽을 수 없습니다" in str(error)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "빈 파일"),
        (b"   \n ", "빈 파일"),
        (b'{"error": "x"}', "XML 문서가 아닙니다"),
        (b"trprId,trprDegr\nAIG1,1\n", "XML 문서가 아닙니다"),
        (b"<html><body>502 Bad Gateway</body></html>", "최상위 요소가 <html>"),
        (b"<!DOCTYPE html><html><body>error</body></html>", "DOCTYPE"),
        (b"\xff\xfe<\x00H\x00", "UTF-16"),
        (b"<?xml version='1.0'?><!-- " + b"x" * 70_000, "너무 깁니다"),
    ],
)
def test_unreadable_files(data, message):
    items, error = parse_broken(hrdnet_xml.parse, data)
    assert items == [] and message in str(error)


def test_api_error_document_is_unreadable_never_an_empty_feed():
    data = "<GO24><error>인증키가 존재하지 않습니다</error></GO24>".encode()
    items, error = parse_broken(hrdnet_xml.parse, data)
    assert items == [] and "인증키가 존재하지 않습니다" in str(error)
    wrapped = '<?xml version="1.0" encoding="UTF-8"?>\n<HRDNet><error>일일 호출 한도 초과</error></HRDNet>'.encode()
    assert "일일 호출 한도 초과" in str(parse_broken(hrdnet_xml.parse, wrapped)[1])
    assert "오류 내용이 없습니다" in str(parse_broken(hrdnet_xml.parse, b"<GO24/>")[1])


def test_a_field_called_error_inside_a_run_is_just_a_field():
    run = record(error="없음")
    assert run.extra["error"] == "없음"


def test_euc_kr_declared_feed():
    run = one(feed(scn(title="전산회계 실무"), encoding="EUC-KR"))
    assert run.title == "전산회계 실무"


def test_bytes_outside_the_declared_encoding_break_the_file():
    data = feed(scn(trprDegr="1"), scn(trprDegr="2"))
    second = data.rindex("테스트 과정".encode())
    data = data[:second] + b"\xff\xfe" + data[second + 4 :]
    items, error = parse_broken(hrdnet_xml.parse, data)
    assert [type(item) for item in items] == [FeedRecord, Rejection]


# -- safety -------------------------------------------------------------------------------------------------

XXE = (
    b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HRDNet [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<HRDNet><srchList>"""
    + scn(title="&xxe;", address="&xxe;").encode()
    + b"</srchList></HRDNet>"
)

BILLION_LAUGHS = (
    b"""<?xml version="1.0"?>
<!DOCTYPE HRDNet [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<HRDNet><srchList>"""
    + scn(title="&lol9;").encode()
    + b"</srchList></HRDNet>"
)

PARAMETER_BOMB = (
    b"""<?xml version="1.0"?>
<!DOCTYPE HRDNet [
 <!ENTITY % a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY % b "%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;%a;">
 <!ENTITY % c "%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;%b;">
 <!ENTITY % d "%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;%c;">
 <!ENTITY e "%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;%d;">
]>
<HRDNet><srchList>"""
    + scn(title="&e;").encode()
    + b"</srchList></HRDNet>"
)

EXTERNAL_DTD = (
    b"""<?xml version="1.0"?>
<!DOCTYPE HRDNet SYSTEM "http://203.0.113.7/hrdnet.dtd">
<HRDNet><srchList>"""
    + scn().encode()
    + b"</srchList></HRDNet>"
)


def _leaks_passwd(items) -> bool:
    return any("root:" in str(item) for item in items)


@pytest.mark.parametrize(
    "data",
    [
        XXE,
        BILLION_LAUGHS,
        PARAMETER_BOMB,
        EXTERNAL_DTD,
        XXE.replace(b"<!DOCTYPE", "<!-- 주석 -->\n<!DOCTYPE".encode()),
        b"\xef\xbb\xbf" + XXE,
    ],
)
def test_documents_with_a_doctype_are_refused_before_parsing(data):
    tracemalloc.start()
    try:
        started = time.perf_counter()
        items, error = parse_broken(hrdnet_xml.parse, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert items == [] and "DOCTYPE" in str(error)
    assert not _leaks_passwd([error])
    assert peak < 2 * MiB and time.perf_counter() - started < 5


@pytest.mark.parametrize("data", [XXE, BILLION_LAUGHS, PARAMETER_BOMB, EXTERNAL_DTD])
def test_the_xml_parser_itself_resolves_no_entities(monkeypatch, data):
    """Defence in depth: even if the DOCTYPE check were bypassed, lxml is set up to load nothing and expand
    nothing (the loopback-only socket guard in conftest makes any network attempt fail the test)."""
    monkeypatch.setattr(hrdnet_xml, "_scan_prologue", lambda buffer: "HRDNet")
    items = []
    try:
        for item in hrdnet_xml.parse(io.BytesIO(data), source="test"):
            items.append(item)
    except FeedUnreadable:
        pass
    assert not _leaks_passwd(items)
    assert all(isinstance(item, Rejection) or "lol" not in item.title for item in items)
    assert all(len(str(item)) < 10_000 for item in items)


def test_a_10_mb_field_rejects_only_its_record():
    huge = "가나다라" * (10 * MiB // 12 + 1)  # 10 MiB of UTF-8, past libxml2's 10,000,000-byte text limit
    assert len(huge.encode()) > 10 * MiB
    data = feed(scn(trprDegr="1"), scn(trprDegr="2", contents=huge), scn(trprDegr="3"))
    del huge
    first, refused, third = parse_xml(data)
    assert (first.run_number, third.run_number) == (1, 3)
    assert isinstance(refused, Rejection) and refused.key == "AIG20250000000001:2"
    assert refused.reason == f"contents: {10 * MiB // 12 * 4 + 4:,}자로 너무 깁니다 (최대 100,000자)"


def test_a_record_larger_than_the_record_limit_stops_the_parse(monkeypatch):
    monkeypatch.setattr(hrdnet_xml, "MAX_RECORD_BYTES", 256 * 1024)
    data = feed(scn(trprDegr="1"), scn(trprDegr="2", contents="x" * (600 * 1024)), scn(trprDegr="3"))
    items, error = parse_broken(hrdnet_xml.parse, data)
    assert [type(item) for item in items] == [FeedRecord, Rejection]
    assert items[1].position == "record 2" and "끊겼습니다" in items[1].reason
    assert "record 2" in str(error) and "1개" in str(error)


# -- generic CSV ----------------------------------------------------------------------------------------------

CSV_HEADER = "course_id,run_number,title,provider_name,provider_id,start_date,end_date,fee,capacity"
CSV_ROW = "SWA-1,{n},AI 과정,교육원,P-1,2025-03-03,2025-08-29,0,40"


def parse_csv(text: str | bytes) -> list[FeedRecord | Rejection]:
    data = text.encode() if isinstance(text, str) else text
    return list(generic_csv.parse(io.BytesIO(data), source="test"))


def test_csv_sample_with_bom():
    raw = (FEEDS / "generic_sample.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    first, second = parse_csv(raw)
    assert first == FeedRecord(
        position="line 2",
        course_id="SWA-2025-AI01",
        run_number=1,
        title="SW아카데미 AI 서비스 개발",
        provider_name="한국SW교육원",
        provider_id="MSIT-P-0012",
        start_date=date(2025, 3, 3),
        end_date=date(2025, 8, 29),
        fee=0,
        capacity=40,
        programme_code="MSIT-SWA",
        ncs_code="20010101",
        region_code="11440",
        address="서울특별시 마포구 월드컵북로 396",
        keywords="AI, 파이썬, LLM",
        url="https://swacademy.example.kr/courses/ai01",
        weekend="weekday",
        mode="classroom",
        hours=960,
        days=120,
    )
    assert (second.start_date, second.weekend, second.mode, second.days) == (
        date(2025, 9, 1),
        "weekend",
        "blended",
        None,
    )


def test_csv_missing_required_column_is_unreadable():
    items, error = parse_broken(generic_csv.parse, b"course_id,run_number,title\nA,1,t\n")
    assert items == [] and "필수 열이 없습니다: provider_name, provider_id, start_date, end_date, fee, capacity" in str(
        error
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "빈 파일"),
        (b"\xef\xbb\xbf\r\n", "빈 파일"),
        (f"{CSV_HEADER},title\n".encode(), "같은 열이 두 번"),
        (f"{CSV_HEADER},\n".encode(), "10번째 열에 이름이 없습니다"),
        (f"{CSV_HEADER}\n{CSV_ROW.format(n=1)}\n".encode("cp949"), "UTF-8 파일이 아닙니다"),
        (f"{CSV_HEADER}\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_csv_unreadable(data, message):
    items, error = parse_broken(generic_csv.parse, data)
    assert items == [] and message in str(error)


def test_csv_header_only_is_an_empty_feed():
    assert parse_csv(CSV_HEADER + "\r\n") == []


def test_csv_header_names_are_trimmed_and_case_blind_and_unknown_columns_go_to_extra():
    header = " Course_ID , RUN_NUMBER,title,provider_name,provider_id,start_date,end_date,fee,capacity,담당자"
    (run,) = parse_csv(f"{header}\n{CSV_ROW.format(n=1)},홍길동\n")
    assert run.course_id == "SWA-1" and run.extra == {"담당자": "홍길동"}


def test_csv_rows_are_checked_alone_and_positions_are_start_lines():
    rows = [
        CSV_HEADER,
        CSV_ROW.format(n=1),
        'SWA-1,2,"여러 줄\n제목",교육원,P-1,2025-03-03,2025-08-29,0,40',
        CSV_ROW.format(n=3).replace("2025-03-03", "2025-03-33"),
        "",
        ",,,,,,,,",
        CSV_ROW.format(n=5) + ",extra",
        CSV_ROW.format(n=6),
    ]
    items = parse_csv("\r\n".join(rows) + "\r\n")
    assert [(type(item).__name__, item.position) for item in items] == [
        ("FeedRecord", "line 2"),
        ("FeedRecord", "line 3"),
        ("Rejection", "line 5"),
        ("Rejection", "line 8"),
        ("FeedRecord", "line 9"),
    ]
    assert items[1].title == "여러 줄 제목"
    assert items[2] == Rejection("line 5", "SWA-1:3", "start_date: 없는 날짜입니다: '2025-03-33'")
    assert items[3] == Rejection("line 8", "SWA-1:5", "칸이 10개입니다 (머리글은 9개).")


def test_csv_blank_means_unknown_and_zero_means_zero():
    header = CSV_HEADER + ",actual_cost,satisfaction,employment_rate_3m,hours,ncs_code,region_code"
    (blank, zero) = parse_csv(
        f"{header}\n{CSV_ROW.format(n=1)},,,,,,\n{CSV_ROW.format(n=2)},0,0,0,0,2010201,29110\n".replace(",40,", ",,", 1)
    )
    assert (blank.capacity, blank.actual_cost, blank.satisfaction, blank.employment_rate_3m, blank.hours) == (
        0,
        None,
        None,
        None,
        None,
    )
    assert (zero.actual_cost, zero.satisfaction, zero.employment_rate_3m, zero.hours) == (0, 0.0, 0.0, 0)
    assert (zero.ncs_code, zero.region_code) == ("02010201", "12210")


def test_csv_generic_values_and_ids():
    header = CSV_HEADER + ",weekend,mode,business_number,satisfaction"
    good, bad = parse_csv(
        f"{header}\n{CSV_ROW.format(n=1)},3,M1005,123-45-67890,92.5\n"
        f"{CSV_ROW.format(n=2).replace('SWA-1', 'SWA 1')},토요일,온라인,12345,9250\n"
    )
    assert (good.weekend, good.mode, good.business_number, good.satisfaction) == (
        "weekday",
        "remote",
        "1234567890",
        92.5,
    )
    assert bad.key is None
    assert bad.reason.startswith("course_id: 영문자, 숫자와 . _ -만 쓸 수 있습니다: 'SWA 1'; business_number: ")
    assert (
        "weekend: " in bad.reason
        and "mode: " in bad.reason
        and "satisfaction: 0–100 사이여야 합니다: 9250" in bad.reason
    )


def test_csv_overlong_line_rejects_only_that_row():
    huge = "가" * (11 * MiB // 3)
    data = (
        f'{CSV_HEADER},contents\n{CSV_ROW.format(n=1)},짧음\n{CSV_ROW.format(n=2)},"{huge}"\n{CSV_ROW.format(n=3)},\n'
    )
    items = parse_csv(data)
    assert [(type(item).__name__, item.position) for item in items] == [
        ("FeedRecord", "line 2"),
        ("Rejection", "line 3"),
        ("FeedRecord", "line 4"),
    ]
    assert "1,048,576자를 넘어" in items[1].reason


def test_csv_field_over_the_csv_module_limit_rejects_only_that_row():
    data = f'{CSV_HEADER},contents\n{CSV_ROW.format(n=1)},"{"x" * 200_000}"\n{CSV_ROW.format(n=2)},\n'
    refused, run = parse_csv(data)
    assert refused.position == "line 2" and "CSV 형식 오류" in refused.reason and run.run_number == 2


def test_csv_bad_bytes_after_the_start_reject_their_row():
    rows = [CSV_ROW.format(n=n) for n in range(1, 3000)]
    data = (CSV_HEADER + "\n" + "\n".join(rows) + "\n").encode()
    data = data.replace(b"SWA-1,2500,AI", b"SWA-1,2500,A\xff", 1)
    items = parse_csv(data)
    assert len(items) == 2999
    assert items[2499] == Rejection("line 2501", "SWA-1:2500", "UTF-8이 아닌 바이트가 있습니다.")


def test_csv_cut_in_its_last_row_is_a_break():
    data = f"{CSV_HEADER}\n{CSV_ROW.format(n=1)}\n{CSV_ROW.format(n=2)}"[:-12]
    items, error = parse_broken(generic_csv.parse, data.encode())
    assert [type(item) for item in items] == [FeedRecord, Rejection]
    assert items[1].position == "line 3" and "끊긴 것 같습니다" in items[1].reason and "끊긴" in str(error)
    # a quoted value left open in the last column is a break too
    data = f'{CSV_HEADER},contents\n{CSV_ROW.format(n=1)},"한 줄"\n{CSV_ROW.format(n=2)},"여러 줄\n이어지는 설명'
    items, error = parse_broken(generic_csv.parse, data.encode())
    assert [type(item) for item in items] == [FeedRecord, Rejection]
    assert items[1].position == "line 3" and "따옴표가 닫히지 않았습니다" in items[1].reason
    # a complete last row without a final line break is fine
    assert len(parse_csv(f"{CSV_HEADER}\n{CSV_ROW.format(n=1)}")) == 1
    assert len(parse_csv(f'{CSV_HEADER},contents\n{CSV_ROW.format(n=1)},"두\n줄"')) == 1


# -- generic JSON -------------------------------------------------------------------------------------------

JSON_RECORD = {
    "course_id": "IDA-1",
    "run_number": 1,
    "title": "데이터 분석",
    "provider_name": "아카데미",
    "provider_id": "P-3",
    "start_date": "2025-05-12",
    "end_date": "2025-07-04",
    "fee": 0,
    "capacity": 25,
}


def jrec(**fields) -> dict:
    return {**JSON_RECORD, **fields}


def jsonl(*objects) -> bytes:
    return "".join(
        json.dumps(item, ensure_ascii=False) + "\n" if not isinstance(item, str) else item + "\n" for item in objects
    ).encode()


def parse_json(data: bytes) -> list[FeedRecord | Rejection]:
    return list(generic_json.parse(io.BytesIO(data), source="test"))


def test_json_lines_sample():
    first, second = parse_json((FEEDS / "generic_sample.jsonl").read_bytes())
    assert (first.course_id, first.run_number, first.region_code, first.satisfaction, first.mode) == (
        "IDA-2025-007",
        1,
        "47110",
        91.2,
        "classroom",
    )
    assert (second.position, second.start_date, second.capacity) == ("record 2 (line 2)", date(2025, 8, 11), 0)


def test_json_array_sample():
    first, second = parse_json((FEEDS / "generic_sample.json").read_bytes())
    assert (first.position, first.support_amount, first.general_self_pay, first.phone) == (
        "record 1 (line 2)",
        960_000,
        240_000,
        "02-555-0101",
    )
    assert (second.position, second.run_number) == ("record 2 (line 17)", 2)


def test_json_array_and_lines_give_the_same_records():
    objects = [jrec(run_number=n, satisfaction=n * 10, keywords=f"k{n}") for n in range(1, 6)]
    from_lines = parse_json(jsonl(*objects))
    from_array = parse_json(json.dumps(objects, ensure_ascii=False).encode())
    strip = [(item.key, item.satisfaction, item.keywords) for item in from_lines]
    assert strip == [(item.key, item.satisfaction, item.keywords) for item in from_array]


def test_json_values_null_blank_and_types():
    run, refused = parse_json(
        jsonl(
            jrec(
                capacity=None,
                actual_cost=0,
                satisfaction=0,
                hours=None,
                ncs_code=2010201,
                region_code="29110",
                provider_id=500020012345,
                fee=1200000.0,
                unknown_key={"nested": 1},
                note="메모",
            ),
            jrec(run_number=2, fee=True, capacity=[1], title=None, start_date=20250512),
        )
    )
    assert (run.capacity, run.actual_cost, run.satisfaction, run.hours, run.fee) == (0, 0, 0.0, None, 1_200_000)
    assert (run.ncs_code, run.region_code, run.provider_id) == ("02010201", "12210", "500020012345")
    assert run.extra == {"note": "메모"}
    assert refused.key == "IDA-1:2"
    assert refused.reason == (
        "title: 값이 없습니다; fee: 참/거짓 값은 쓸 수 없습니다: True; capacity: 숫자가 아닙니다 (객체나 배열)"
    )


def test_json_lines_bad_line_is_rejected_alone():
    items = parse_json(
        jsonl(
            jrec(run_number=1),
            '{"course_id": "IDA-1", "run_number": 2,',
            "",
            '"just a string"',
            jrec(run_number=5, fee=-1),
            jrec(run_number=6),
        )
    )
    assert [(type(item).__name__, item.position) for item in items] == [
        ("FeedRecord", "record 1 (line 1)"),
        ("Rejection", "record 2 (line 2)"),
        ("Rejection", "record 3 (line 4)"),
        ("Rejection", "record 4 (line 5)"),
        ("FeedRecord", "record 5 (line 6)"),
    ]
    assert items[1].reason.startswith("JSON 문법 오류: ")
    assert items[2].reason == "객체({ … })가 아닙니다"
    assert items[3] == Rejection("record 4 (line 5)", "IDA-1:5", "fee: 0 이상이어야 합니다: -1")


def test_json_lines_cut_in_the_last_line_is_a_break():
    data = jsonl(jrec(run_number=1), jrec(run_number=2))[:-20]
    items, error = parse_broken(generic_json.parse, data)
    assert [type(item) for item in items] == [FeedRecord, Rejection]
    assert "끊겼습니다" in items[1].reason and "1개" in str(error)


def test_json_array_cut_is_a_break():
    text = json.dumps([jrec(run_number=n) for n in range(1, 4)], ensure_ascii=False, indent=1)
    items, error = parse_broken(generic_json.parse, text[: text.index('"run_number": 3')].encode())
    assert [item.run_number for item in items[:-1]] == [1, 2]
    assert isinstance(items[-1], Rejection) and "끊겼습니다" in items[-1].reason
    items, error = parse_broken(generic_json.parse, text[:-2].encode())  # only the closing "]" is missing
    assert len(items) == 4 and "배열이 닫히지 않았습니다" in str(error)


def test_json_array_bad_element_is_rejected_alone():
    text = (
        "[" + json.dumps(jrec(run_number=1)) + ',\n{"course_id": "IDA-1", "title": "괄호 } 와 \\" 따옴표 {", '
        '"run_number": 2, oops},\n 42, "문자열 ]", null,\n' + json.dumps(jrec(run_number=6)) + "]"
    )
    items = parse_json(text.encode())
    assert [type(item).__name__ for item in items] == ["FeedRecord"] + ["Rejection"] * 4 + ["FeedRecord"]
    assert items[1].position == "record 2 (line 2)" and items[1].reason.startswith("JSON 문법 오류: ")
    assert items[2].reason == items[3].reason == "객체({ … })가 아닙니다"
    assert items[5].run_number == 6 and items[5].position == "record 6 (line 4)"


def test_json_array_huge_element_is_skipped_without_holding_it():
    huge = jrec(run_number=2, contents=("가나다라마바사아자차" * 50 + '\\"{[]},') * (20_000))
    text = json.dumps([jrec(run_number=1), huge, jrec(run_number=3)], ensure_ascii=False)
    data = text.encode()
    del huge
    tracemalloc.start()
    try:
        items = parse_json(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [type(item).__name__ for item in items] == ["FeedRecord", "Rejection", "FeedRecord"]
    assert "너무 큽니다" in items[1].reason and items[2].run_number == 3
    assert peak < 8 * MiB  # the 22 MB array was never held whole


def test_json_lines_overlong_line_is_rejected_alone():
    items = parse_json(jsonl(jrec(run_number=1), jrec(run_number=2, contents="x" * (2 * MiB)), jrec(run_number=3)))
    assert [type(item).__name__ for item in items] == ["FeedRecord", "Rejection", "FeedRecord"]
    assert items[1].position == "record 2 (line 2)" and items[2].position == "record 3 (line 3)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "빈 파일"),
        (b"\xef\xbb\xbf \n", "빈 파일"),
        ('{"error": "인증키가 존재하지 않습니다"}'.encode(), "오류 문서입니다: 인증키가 존재하지 않습니다"),
        (
            '{\n  "error": {"code": "E01", "message": "인증키가 존재하지 않습니다"}\n}\n'.encode(),
            "인증키가 존재하지 않습니다",
        ),
        ('[{"error": "서버 점검 중"}]'.encode(), "서버 점검 중"),
        (b'{\n "course_id": "A"\n}', "첫 줄이 JSON 객체가 아닙니다"),
        (b"<HRDNet/>", "JSON 피드가 아닙니다"),
        (b"[1, 2]", "첫 레코드가 JSON 객체가 아닙니다"),
        (b'{"course_id": "A", "title": "t"}\n', "첫 레코드에 필수 항목이 없습니다: run_number, provider_name"),
        (b"[", "배열이 닫히지 않았습니다"),
        (b'[{"course_id": "A",', "끝나지 않았습니다"),
        ("[]".encode("utf-16"), "UTF-16"),
        ('[{"title": "전산회계"}]'.encode("cp949"), "UTF-8 파일이 아닙니다"),
    ],
)
def test_json_unreadable(data, message):
    items, error = parse_broken(generic_json.parse, data)
    assert items == [] and message in str(error)


def test_json_empty_array_is_an_empty_feed():
    assert parse_json(b" [ ] \n") == []
    items, error = parse_broken(generic_json.parse, b"[] []")
    assert items == [] and "배열이 끝난 뒤에도" in str(error)


@pytest.mark.parametrize("cut", range(1, 60))
def test_bracket_scanner_resumes_across_chunks(cut):
    text = '{"a": "x\\"}]{[,", "b": [1, {"c": "\\\\"}], "d": "\\u005d"}, {"next": 1}'
    end, state = generic_json._scan(text[:cut], 0, (0, False, False))
    if end is None:
        end, _state = generic_json._scan(text[cut:], 0, state)
        end += cut
    assert text[:end] == '{"a": "x\\"}]{[,", "b": [1, {"c": "\\\\"}], "d": "\\u005d"}'


# -- shared checks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5,500,000", 5_500_000),
        ("1,000원", 1000),
        ("12.0", 12),
        (7, 7),
        (7.0, 7),
        ("+3", 3),
        (None, None),
        (" ", None),
    ],
)
def test_to_int(value, expected):
    assert validate.to_int(value) == expected


@pytest.mark.parametrize("value", ["1_000", "12.5", 12.5, "1e3", "٣", "abc", True, [1], "-2", 2**31])
def test_to_int_refuses(value):
    with pytest.raises(validate.Invalid):
        validate.to_int(value)


def test_clean_text_drops_control_characters():
    assert validate.clean_text("가\x00나\x1b다\u200b") == "가나다\u200b"
    assert validate.clean_text("a<!-- 주석 -->b <span style='x'>c</span>") == "ab c"


# -- memory ---------------------------------------------------------------------------------------------------
# Streaming: the peak does not grow with the file. Each parse's small size is past the point where the parsers'
# memo tables are full (4,096 entries), so what is left to grow is only what a parser would wrongly keep. Speed
# and the figures of docs/feeds.md come from bench/feed_parsers.py (timing is not a test).


def test_xml_memory_stays_flat_from_4k_to_20k_records(tmp_path):
    small, large = write_xml(tmp_path / "4k.xml", 4_000), write_xml(tmp_path / "20k.xml", 20_000)
    parse_xml(feed(scn()))  # warm the reference-data caches outside the measurement
    count_small, peak_small = traced_peak(hrdnet_xml.parse, small)
    count_large, peak_large = traced_peak(hrdnet_xml.parse, large)
    assert (count_small, count_large) == (4_000, 20_000)
    assert peak_large < 30 * MiB
    assert peak_large < peak_small * 1.5 + MiB, (peak_small, peak_large)
    # tracemalloc sees only Python objects: the process's peak RSS also covers libxml2's tree
    if Path("/proc/self/status").exists():
        (_, rss_small), (_, rss_large) = child_peak_rss_kib(small), child_peak_rss_kib(large)
        assert rss_large - rss_small < 20 * 1024, (rss_small, rss_large)


@pytest.mark.parametrize(
    ("writer", "parse"),
    [
        pytest.param(write_csv, generic_csv.parse, id="csv"),
        pytest.param(write_json_lines, generic_json.parse, id="json-lines"),
        pytest.param(write_json_array, generic_json.parse, id="json-array"),
    ],
)
def test_generic_memory_stays_flat_from_1k_to_10k_records(tmp_path, writer, parse):
    small, large = writer(tmp_path / "1k", 1_000), writer(tmp_path / "10k", 10_000)
    parse_json(jsonl(jrec()))  # warm caches
    count_small, peak_small = traced_peak(parse, small)
    count_large, peak_large = traced_peak(parse, large)
    assert (count_small, count_large) == (1_000, 10_000)
    assert peak_large < peak_small * 1.5 + MiB, (peak_small, peak_large)


def test_remote_programmes_are_remote_when_the_feed_names_no_training_kind():
    """Real list responses carry srchTraGbn only as a request parameter; C0055/C0031* are remote courses."""
    from io import BytesIO

    from courses.ingest import hrdnet_xml

    def record(code):
        xml = (
            "<HRDNet><srchList><scn_list><trprId>AIG20260000000001</trprId><trprDegr>1</trprDegr>"
            "<title>원격 엑셀 실무</title><subTitle>원격훈련원</subTitle><trainstCstId>500000001</trainstCstId>"
            "<traStartDate>2026-05-04</traStartDate><traEndDate>2026-06-04</traEndDate>"
            f"<courseMan>200000</courseMan><yardMan>100</yardMan><trainTargetCd>{code}</trainTargetCd>"
            "</scn_list></srchList></HRDNet>"
        ).encode()
        return next(hrdnet_xml.parse(BytesIO(xml), source="hrdnet"))

    assert record("C0031F").mode == "remote" and record("C0055").mode == "remote"
    assert record("C0055C").mode == "unknown" and record("C0104").mode == "unknown"
