import AlmanacCLI

await AlmanacMain.run()
