"""Vietnamese lunar dates to solar dates (âm lịch → dương lịch), computed for UTC+7.

The astronomical method Hồ Ngọc Đức published for the Vietnamese calendar (new moons and the
sun's longitude after Meeus, months counted from the one holding the winter solstice). The
`holidays` package knows Tết and Giỗ Tổ per year but converts no other lunar day, so this small
module does; tests check it against the public holidays `holidays` lists for Vietnam.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from math import floor, pi, sin

_TZ = 7.0  # Vietnam's calendar is reckoned at UTC+7
_JD_OFFSET = 1721425  # Julian day number of date.toordinal() == 0
_DR = pi / 180


def _new_moon(k: int) -> float:
    """Julian day (TT) of the k-th new moon after 1900-01-01."""
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd1 += 0.00033 * sin((166.56 + 132.87 * t - 0.009173 * t2) * _DR)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3
    mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3
    c1 = (0.1734 - 0.000393 * t) * sin(m * _DR) + 0.0021 * sin(2 * _DR * m)
    c1 += -0.4068 * sin(mpr * _DR) + 0.0161 * sin(_DR * 2 * mpr) - 0.0004 * sin(_DR * 3 * mpr)
    c1 += 0.0104 * sin(_DR * 2 * f) - 0.0051 * sin(_DR * (m + mpr))
    c1 += -0.0074 * sin(_DR * (m - mpr)) + 0.0004 * sin(_DR * (2 * f + m))
    c1 += -0.0004 * sin(_DR * (2 * f - m)) - 0.0006 * sin(_DR * (2 * f + mpr))
    c1 += 0.0010 * sin(_DR * (2 * f - mpr)) + 0.0005 * sin(_DR * (2 * mpr + m))
    if t < -11:
        delta_t = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        delta_t = -0.000278 + 0.000265 * t + 0.000262 * t2
    return jd1 + c1 - delta_t


def _new_moon_day(k: int) -> int:
    return floor(_new_moon(k) + 0.5 + _TZ / 24)


def _sun_longitude_sector(day_number: int) -> int:
    """Which of the 12 sectors of 30° the sun is in at the start of the local day."""
    t = (day_number - 0.5 - _TZ / 24 - 2451545.0) / 36525
    t2 = t * t
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * sin(_DR * m)
    dl += (0.019993 - 0.000101 * t) * sin(_DR * 2 * m) + 0.000290 * sin(_DR * 3 * m)
    longitude = (l0 + dl) * _DR
    longitude -= 2 * pi * floor(longitude / (2 * pi))
    return floor(longitude / pi * 6)


@cache
def _month11(year: int) -> int:
    """Day number of the start of the 11th lunar month (the one with the winter solstice)."""
    off = dt.date(year, 12, 31).toordinal() + _JD_OFFSET - 2415021
    k = floor(off / 29.530588853)
    start = _new_moon_day(k)
    if _sun_longitude_sector(start) >= 9:
        start = _new_moon_day(k - 1)
    return start


def _leap_month_offset(a11: int) -> int:
    k = floor((a11 - 2415021.076998695) / 29.530588853 + 0.5)
    i = 1
    arc = _sun_longitude_sector(_new_moon_day(k + i))
    while True:
        last = arc
        i += 1
        arc = _sun_longitude_sector(_new_moon_day(k + i))
        if arc == last or i >= 14:
            return i - 1


def to_solar(day: int, month: int, year: int, *, leap: bool = False) -> dt.date | None:
    """The solar date of lunar `day`/`month` of lunar `year`; None for a leap month that
    year does not have."""
    if month < 11:
        a11, b11 = _month11(year - 1), _month11(year)
    else:
        a11, b11 = _month11(year), _month11(year + 1)
    k = floor(0.5 + (a11 - 2415021.076998695) / 29.530588853)
    off = (month - 11) % 12
    if b11 - a11 > 365:
        leap_off = _leap_month_offset(a11)
        leap_month = (leap_off - 2) % 12
        if leap and month != leap_month:
            return None
        if leap or off >= leap_off:
            off += 1
    elif leap:
        return None
    return dt.date.fromordinal(_new_moon_day(k + off) + day - 1 - _JD_OFFSET)
