# Intune's detect.ps1 end to end on a fake PC built from each fixture: the real facts script
# inside it, then the verdict in PowerShell, then the exit code and the one line. The doctor's
# facts script runs on the same PC beside it. With QBD_INTUNE_OUT set, each PC's facts and each
# fix's line are written there, and tests/test_exports_intune.py compares every line with the
# Python doctor's verdict on those very facts.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Facts.ps1')
    Set-FakeMachineMock
    $script:Fixes = @(Get-ChildItem -LiteralPath (Join-Path -Path $PSScriptRoot -ChildPath 'out') -Filter 'intune-detect-*.ps1' | Sort-Object -Property Name)
}

Describe 'Intune detection on a fake PC' {
    AfterEach {
        Restore-FakeMachine
    }

    It '<Name>: one line, exit 1 exactly when it says the fix applies' -ForEach @(
        @{ Name = 'healthy' }, @{ Name = 'red_tray' }, @{ Name = 'nothing_installed' },
        @{ Name = 'web_connector' }, @{ Name = 'webroot' }, @{ Name = 'defender_detection' },
        @{ Name = 'certificate_missing' }, @{ Name = 'quickbooks_closed' }, @{ Name = 'one_time_sync' },
        @{ Name = 'no_route' }, @{ Name = 'web_connector_closed' }, @{ Name = 'web_connector_no_startup' },
        @{ Name = 'web_connector_elevation_mismatch' }, @{ Name = 'web_connector_log_not_writable' },
        @{ Name = 'web_connector_qbwc1039' }, @{ Name = 'web_connector_qbwc1048' },
        @{ Name = 'web_connector_two_quickbooks' }, @{ Name = 'web_connector_nobody_logged_on' }
    ) {
        $script:Fixes | Should -HaveCount 6
        $fixturePath = Join-Path -Path $PSScriptRoot -ChildPath ('../doctor/fixtures/{0}.json' -f $Name)
        $fixture = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText($fixturePath))
        $null = New-FakeMachineFromFacts -Root (New-FakeRoot -Base $TestDrive) -Facts $fixture
        $doctor = Invoke-RenderedScript -ScriptPath (Join-Path -Path $PSScriptRoot -ChildPath 'out/doctor.ps1') -ScriptParameters @{ ConnectTimeoutMs = 200 }
        $lines = [ordered]@{}

        foreach ($file in $script:Fixes) {
            $fix = $file.BaseName.Substring('intune-detect-'.Length)
            $run = Invoke-RenderedScript -ScriptPath $file.FullName
            $because = '{0} on {1}: {2}' -f $fix, $Name, $run.Json
            $run.Output[-1] | Should -Be $run.Json -Because $because
            $run.Json.Length | Should -BeLessOrEqual 2048
            $run.Result.remediation | Should -Be $fix
            $run.Result.check | Should -Be 'detect'
            $run.Result.state | Should -BeIn @('applies', 'healthy', 'held') -Because $because
            $run.Result.applies | Should -Be ($run.Result.state -eq 'applies') -Because $because
            $run.ExitCode | Should -Be ([int][bool]$run.Result.applies) -Because $because
            $lines[$fix] = $run.Result
        }
        if ($env:QBD_INTUNE_OUT) {
            $record = [ordered]@{ fixture = $Name; facts = $doctor.Result.data.facts; lines = $lines }
            $path = Join-Path -Path $env:QBD_INTUNE_OUT -ChildPath ('{0}.json' -f $Name)
            [System.IO.File]::WriteAllText($path, (ConvertTo-Json -InputObject $record -Depth 30))
        }
    }
}
