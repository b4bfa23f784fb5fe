# `sam build` calls build-<LogicalId> for each function (BuildMethod: makefile). Each service is
# published as a Native AOT binary for linux-x64 and packaged as `bootstrap` for provided.al2023;
# AWS Lambda Web Adapter (a layer) turns Lambda events into HTTP requests to it.
define publish
	dotnet publish services/EcpayEvents.$(1)/EcpayEvents.$(1).csproj -c Release -r linux-x64 -o "$(ARTIFACTS_DIR)/publish"
	cp "$(ARTIFACTS_DIR)/publish/EcpayEvents.$(1)" "$(ARTIFACTS_DIR)/bootstrap"
	rm -rf "$(ARTIFACTS_DIR)/publish"
endef

build-NotificationsFunction:
	$(call publish,Notifications)
build-SettlementFunction:
	$(call publish,Settlement)
build-PaymentsApiFunction:
	$(call publish,PaymentsApi)
build-TimeoutsFunction:
	$(call publish,Timeouts)

.PHONY: build-NotificationsFunction build-SettlementFunction build-PaymentsApiFunction build-TimeoutsFunction
