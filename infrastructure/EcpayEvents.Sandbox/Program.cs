EcpayEvents.Sandbox.SandboxApp.Build(args).Run();
