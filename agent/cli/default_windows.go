package cli

const defaultConfigPath = `C:\Program Files (x86)\wapt\wapt-get.ini`
