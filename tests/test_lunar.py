"""Lunar dates: the conversion agrees with the Vietnamese public holidays `holidays` lists."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from bot.core.lunar import to_solar


@pytest.mark.parametrize("year", range(2008, 2051))
def test_tet_and_gio_to_are_public_holidays(year):
    off = holidays.country_holidays("VN", years=[year])
    assert to_solar(1, 1, year) in off  # Tết Nguyên đán
    assert to_solar(10, 3, year) in off  # Giỗ Tổ Hùng Vương


def test_known_days():
    assert to_solar(1, 1, 2022) == dt.date(2022, 2, 1)
    assert to_solar(15, 8, 2023) == dt.date(2023, 9, 29)  # Tết Trung thu
    assert to_solar(1, 1, 2023) == dt.date(2023, 1, 22)


def test_leap_months():
    # 2023 has a leap 2nd month (tháng 2 nhuận): 1/2 nhuận Quý Mão is 22/03/2023.
    assert to_solar(1, 2, 2023, leap=True) == dt.date(2023, 3, 22)
    assert to_solar(1, 3, 2023) == dt.date(2023, 4, 20)
    assert to_solar(1, 5, 2023, leap=True) is None
