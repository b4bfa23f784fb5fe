using EcpayEvents.Timeouts;

TimeoutsApp.Build(args).Run();
