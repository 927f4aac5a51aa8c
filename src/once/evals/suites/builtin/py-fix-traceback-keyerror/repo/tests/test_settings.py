from settings import server_address


def test_all_overridden():
    assert server_address({"host": "example.org", "port": "80"}) == "example.org:80"
