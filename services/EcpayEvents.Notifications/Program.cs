EcpayEvents.Notifications.NotificationsApp.Build(args).Run();
