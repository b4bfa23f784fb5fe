EcpayEvents.PaymentsApi.PaymentsApiApp.Build(args).Run();
