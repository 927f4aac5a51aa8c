import unittest

from roman import to_roman


class HiddenRomanTest(unittest.TestCase):
    def test_more_numbers(self):
        cases = {1: "I", 14: "XIV", 58: "LVIII", 90: "XC", 400: "CD", 444: "CDXLIV", 2024: "MMXXIV",
                 3999: "MMMCMXCIX"}
        for number, expected in cases.items():
            with self.subTest(number=number):
                self.assertEqual(to_roman(number), expected)

    def test_range(self):
        with self.assertRaises(ValueError):
            to_roman(4000)
