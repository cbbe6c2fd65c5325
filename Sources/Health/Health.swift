import Lonc
