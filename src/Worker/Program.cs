return DesMoe.Worker.WorkerMain.Run(args);
