{
  "targets": [
    {
      "target_name": "sessctl_at",
      "sources": ["sessctl_at.c"],
      "cflags": ["-std=c11", "-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
