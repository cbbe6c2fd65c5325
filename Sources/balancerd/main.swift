import Lonc
print(String(decoding: PackageResources.index_html, as: UTF8.self))
