EcpayEvents.Settlement.SettlementApp.Build(args).Run();
