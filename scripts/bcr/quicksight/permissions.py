"""What the QuickSight principal may do with each resource: the owner action sets, shared by the template
(a contract test holds its Permissions to these) and ``bcr dashboard deploy`` (which grants them on create
and never touches the permissions of an existing resource, so sharing done in the console survives)."""

from __future__ import annotations

DATA_SOURCE_ACTIONS = (
    "quicksight:DeleteDataSource",
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
    "quicksight:UpdateDataSource",
    "quicksight:UpdateDataSourcePermissions",
)
DATASET_ACTIONS = (
    "quicksight:CancelIngestion",
    "quicksight:CreateIngestion",
    "quicksight:DeleteDataSet",
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:PassDataSet",
    "quicksight:UpdateDataSet",
    "quicksight:UpdateDataSetPermissions",
)
DASHBOARD_ACTIONS = (
    "quicksight:DeleteDashboard",
    "quicksight:DescribeDashboard",
    "quicksight:DescribeDashboardPermissions",
    "quicksight:ListDashboardVersions",
    "quicksight:QueryDashboard",
    "quicksight:UpdateDashboard",
    "quicksight:UpdateDashboardPermissions",
    "quicksight:UpdateDashboardPublishedVersion",
)
ACTIONS = {"data_source": DATA_SOURCE_ACTIONS, "dataset": DATASET_ACTIONS, "dashboard": DASHBOARD_ACTIONS}


def owner_permissions(kind: str, principal_arn: str) -> list[dict[str, object]]:
    return [{"Principal": principal_arn, "Actions": list(ACTIONS[kind])}]
