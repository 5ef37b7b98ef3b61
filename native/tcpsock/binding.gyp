{
  "targets": [
    {
      "target_name": "tcpsock",
      "sources": ["tcpsock.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
