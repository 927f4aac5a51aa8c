"""Print the address the server would listen on: python app.py [key=value ...]"""

import sys

from settings import server_address

if __name__ == "__main__":
    overrides = dict(arg.split("=", 1) for arg in sys.argv[1:])
    print(server_address(overrides))
