package config

const defaultBaseDir = `C:\Program Files (x86)\wapt`
