{
  "targets": [
    {
      "target_name": "onednn",
      "sources": ["src/addon.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-ldnnl", "-lgomp"]
    }
  ]
}
